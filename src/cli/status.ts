/** `flowctl status`: asks running pipelines for the state of their components. */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  type ComponentStatusResponse,
  ControlPlaneService,
  HealthStatus,
} from "../controlplane/gen/flowctl/v1/control_plane_pb.ts";
import { isRunLive, listRunStates, readRunState, type RunState } from "../state/state_file.ts";
import { outputFormat, parseCommandArgs } from "./_args.ts";
import { loadPipelineFile } from "./_load.ts";
import type { CommandModule } from "./command.ts";
import { ExitCode } from "./exit_code.ts";
import { describeTasks, swarmTasks, type TaskView } from "./_swarm_tasks.ts";
import { createOutput } from "./output.ts";

interface ComponentView {
  id: string;
  kind: string;
  state: string;
  pid?: number;
  containerId?: string;
  health: string;
  registered: boolean;
  lastHeartbeat?: string;
  lastHeartbeatAgoMs?: number;
  restarts: number;
  uptimeMs?: number;
  /** Swarm mode: its live tasks and the nodes they run on. */
  tasks?: TaskView[];
}

export const statusCommand: CommandModule = {
  help: `Usage: flowctl status [file] [--output text|json]

Asks the running pipeline (of <file>, or every running pipeline) for each component's state,
pid or container, health, registration with the control plane, last heartbeat, restarts and
uptime; in swarm mode also each component's tasks and the nodes they run on.

Exit codes: 0 a pipeline is running, 1 none is, 2 usage or configuration error.`,
  async run(args) {
    const { values, positionals } = parseCommandArgs("status", args, {
      output: { type: "string" },
    });
    const out = createOutput(outputFormat("status", values.output));
    let states: RunState[];
    if (positionals.length > 0) {
      const { pipeline } = await loadPipelineFile(positionals[0] ?? "");
      const state = await readRunState(pipeline.name);
      states = state ? [state] : [];
    } else {
      states = await listRunStates();
    }
    const running = states.filter(isRunLive);
    if (running.length === 0) {
      const stale = states.length > 0
        ? ` (a state file of a run that was killed remains; "flowctl down ${
          states[0]?.file
        }" cleans up after it)`
        : "";
      if (out.format === "json") out.json({ running: false, pipelines: [] });
      else {out.error(
          `No running pipeline${positionals[0] ? ` for ${positionals[0]}` : ""}${stale}`,
        );}
      return ExitCode.failure;
    }
    const views = await Promise.all(
      running.map(async (state) => ({ state, components: await describe(state) })),
    );
    if (out.format === "json") {
      out.json({
        running: true,
        pipelines: views.map(({ state, components }) => ({
          pipeline: state.pipeline,
          file: state.file,
          runId: state.runId,
          orchestrator: state.orchestrator,
          flowctlPid: state.flowctl.pid,
          controlPlane: state.controlPlane
            ? `${state.controlPlane.host}:${state.controlPlane.port}`
            : null,
          components,
        })),
      });
      return ExitCode.ok;
    }
    for (const { state, components } of views) {
      out.line(
        `Pipeline ${state.pipeline} (${state.orchestrator}, flowctl pid ${state.flowctl.pid}, control plane ${state.controlPlane?.host}:${state.controlPlane?.port})`,
      );
      const rows = [[
        "COMPONENT",
        "STATE",
        "PID/CONTAINER",
        "HEALTH",
        "REGISTERED",
        "HEARTBEAT",
        "RESTARTS",
        "UPTIME",
      ]];
      for (const c of components) {
        rows.push([
          c.id,
          c.state,
          c.pid !== undefined ? String(c.pid) : c.containerId?.slice(0, 12) ?? "-",
          c.health,
          c.registered ? "yes" : "no",
          c.lastHeartbeatAgoMs !== undefined ? `${formatAgo(c.lastHeartbeatAgoMs)} ago` : "-",
          String(c.restarts),
          c.uptimeMs !== undefined ? formatAgo(c.uptimeMs) : "-",
        ]);
      }
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const row of rows) {
        out.line(row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
      }
      for (const c of components) {
        if (c.tasks) out.line(`  ${c.id} tasks: ${describeTasks(c.tasks)}`);
      }
    }
    return ExitCode.ok;
  },
};

async function describe(state: RunState): Promise<ComponentView[]> {
  const registrations = await listRegistrations(state);
  const tasks = await swarmTasks(state);
  const now = Date.now();
  return state.components.map((c) => {
    const registration = registrations.find((r) => r.component?.id === c.id);
    const heartbeat = registration?.lastHeartbeat
      ? timestampMs(registration.lastHeartbeat)
      : undefined;
    const health =
      registration && registration.status === HealthStatus.UNHEALTHY && c.phase === "healthy"
        ? "stale"
        : ["healthy", "unhealthy"].includes(c.phase)
        ? c.phase
        : c.phase === "running"
        ? "no check"
        : "-";
    return {
      id: c.id,
      kind: c.kind,
      state: c.phase,
      ...(c.pid !== undefined ? { pid: c.pid } : {}),
      ...(c.containerId !== undefined ? { containerId: c.containerId } : {}),
      health,
      registered: registration !== undefined,
      ...(heartbeat !== undefined
        ? { lastHeartbeat: new Date(heartbeat).toISOString(), lastHeartbeatAgoMs: now - heartbeat }
        : {}),
      restarts: c.restarts,
      ...(c.startedAt !== undefined && !["stopped", "exited", "failed"].includes(c.phase)
        ? { uptimeMs: now - c.startedAt }
        : {}),
      ...(state.orchestrator === "swarm" ? { tasks: tasks.get(c.id) ?? [] } : {}),
    };
  });
}

async function listRegistrations(state: RunState): Promise<ComponentStatusResponse[]> {
  if (!state.controlPlane) return [];
  const host = state.controlPlane.host.includes(":")
    ? `[${state.controlPlane.host}]`
    : state.controlPlane.host;
  const client = createClient(
    ControlPlaneService,
    createGrpcTransport({ baseUrl: `http://${host}:${state.controlPlane.port}` }),
  );
  try {
    const response = await client.listComponents({ includeUnhealthy: true }, { timeoutMs: 3_000 });
    return response.components;
  } catch {
    return [];
  }
}

function formatAgo(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
}
