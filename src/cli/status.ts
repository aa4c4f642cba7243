/** `flowctl status`: asks running pipelines for the state of their components. */
import { listRegistrations } from "../controlplane/status_client.ts";
import { isRunLive, listRunStates, type RunState } from "../state/state_file.ts";
import type { Component, OrchestratorKind } from "../config/mod.ts";
import { delay } from "../delay.ts";
import { describePort, modeOf } from "../orchestrator/select.ts";
import { type ReplicaView, usageWithReplicas } from "./_replica_usage.ts";
import { outputFormat, parseCommandArgs } from "./_args.ts";
import { findNamedPipeline } from "./_target.ts";
import { edgeLines } from "./_edges.ts";
import { loadPipelineFile } from "./_load.ts";
import type { CommandModule } from "./command.ts";
import { ExitCode } from "./exit_code.ts";
import { describeTasks, swarmTasks, type TaskView } from "./_swarm_tasks.ts";
import { createOutput, type Output } from "./output.ts";

/** Phases in which a component has no instance running. */
const NOT_RUNNING = ["pending", "exited", "stopped", "failed"];
/** How long process CPU time is sampled for the CPU column. */
const CPU_SAMPLE_MS = 250;
/** How often `status -w` refreshes. */
const WATCH_INTERVAL_MS = 2_000;
const CLEAR_SCREEN = "\x1b[H\x1b[2J";

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
  /** Percent of one core, over a short sample. */
  cpuPercent?: number;
  rssBytes?: number;
  /** Published or listening ports: `hostIp:hostPort->containerPort`, or the process's port. */
  ports: string[];
  /** Where it runs: this host, or in swarm mode the nodes of its live tasks. */
  node: string;
  /** Swarm mode: its live tasks and the nodes they run on. */
  tasks?: TaskView[];
  /** With `replicas: N` (N > 1): each instance, its state and usage. */
  replicas?: ReplicaView[];
}

export const statusCommand: CommandModule = {
  help: `Usage: flowctl status [name|file] [-w|--watch] [--output text|json]

Asks the running pipeline (named by its name or its file; else every running pipeline) for each
component's state, pid or container, health, registration with the control plane, last
heartbeat, restarts, uptime, CPU (percent of one core), memory (RSS of the process group, or the
container's usage), ports and node; in swarm mode also each component's tasks and the nodes they
run on. -w refreshes every 2 seconds (in place on a terminal) until Ctrl+C.

Exit codes: 0 a pipeline is running (or -w ended by Ctrl+C), 1 none is, 2 usage or
configuration error.`,
  async run(args) {
    const { values, positionals } = parseCommandArgs("status", args, {
      output: { type: "string" },
      watch: { type: "boolean", short: "w" },
    });
    if (values.watch) {
      return await watchStatus(
        args.filter((arg) => arg !== "-w" && arg !== "--watch"),
        outputFormat("status", values.output),
      );
    }
    const out = createOutput(outputFormat("status", values.output));
    let states: RunState[];
    let named: string | undefined;
    if (positionals.length > 0) {
      const { name, state } = await findNamedPipeline(positionals[0] ?? "");
      named = name;
      states = state ? [state] : [];
    } else {
      states = await listRunStates();
    }
    const running = states.filter(isRunLive);
    if (running.length === 0) {
      const stale = states.length > 0
        ? ` (a state file of a run that was killed remains; "flowctl down ${
          states[0]?.pipeline
        }" cleans up after it)`
        : "";
      if (out.format === "json") out.json({ running: false, pipelines: [] });
      else {
        // The same words as every command that looks for a running pipeline.
        out.error(
          `${named ? `Pipeline "${named}" is not running` : "No pipeline is running"}${stale}`,
        );
      }
      return ExitCode.failure;
    }
    const views = await Promise.all(
      running.map(async (state) => ({ state, components: await describe(state) })),
    );
    if (out.format === "json") out.json(statusJson(views));
    else printTables(out, views);
    return ExitCode.ok;
  },
};

type StatusView = { state: RunState; components: ComponentView[] };

/** `status --output json`: one object with every running pipeline. */
function statusJson(views: readonly StatusView[]) {
  return {
    running: true,
    pipelines: views.map(({ state, components }) => ({
      pipeline: state.pipeline,
      namespace: state.metadata?.namespace ?? null,
      labels: state.metadata?.labels ?? {},
      annotations: state.metadata?.annotations ?? {},
      file: state.file,
      runId: state.runId,
      orchestrator: state.orchestrator,
      flowctlPid: state.flowctl.pid,
      controlPlane: state.controlPlane
        ? `${state.controlPlane.host}:${state.controlPlane.port}`
        : null,
      components,
      edges: state.edges ?? [],
    })),
  };
}

/** One table per running pipeline, like `pm2 ls`. */
function printTables(out: Output, views: readonly StatusView[]): void {
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
      "CPU",
      "MEM",
      "PORTS",
      "NODE",
    ]];
    for (const c of components) {
      const up = c.replicas?.filter((r) => r.up).length;
      rows.push([
        c.id,
        c.replicas ? `${c.state} ${up}/${c.replicas.length}` : c.state,
        c.pid !== undefined ? String(c.pid) : c.containerId?.slice(0, 12) ?? "-",
        c.health,
        c.registered ? "yes" : "no",
        c.lastHeartbeatAgoMs !== undefined ? `${formatAgo(c.lastHeartbeatAgoMs)} ago` : "-",
        String(c.restarts),
        c.uptimeMs !== undefined ? formatAgo(c.uptimeMs) : "-",
        c.cpuPercent !== undefined ? `${c.cpuPercent.toFixed(1)}%` : "-",
        c.rssBytes !== undefined ? formatBytes(c.rssBytes) : "-",
        c.ports.length > 0 ? c.ports.join(",") : "-",
        c.node,
      ]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const row of rows) {
      out.line(row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
    }
    for (const c of components) {
      if (c.tasks) out.line(`  ${c.id} tasks: ${describeTasks(c.tasks)}`);
      if (c.replicas) out.line(`  ${c.id} replicas: ${describeReplicas(c.replicas)}`);
    }
    for (const line of edgeLines(state.edges ?? [])) out.line(line);
  }
}

async function describe(state: RunState): Promise<ComponentView[]> {
  const [registrations, { usage, replicas }, components, tasks] = await Promise.all([
    state.controlPlane ? listRegistrations(state.controlPlane, { timeoutMs: 3_000 }) : [],
    usageOf(state),
    componentsOf(state),
    swarmTasks(state),
  ]);
  const now = Date.now();
  const node = Deno.hostname();
  return state.components.map((c) => {
    // A component that is not running has no process, container or live registration: what
    // the run remembers of its last instance would read as if it still ran.
    const down = NOT_RUNNING.includes(c.phase);
    const registration = down ? undefined : registrations.find((r) => r.componentId === c.id);
    const heartbeat = registration?.lastHeartbeatMs;
    const health = registration?.unhealthy && c.phase === "healthy"
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
      ...(c.pid !== undefined && !down ? { pid: c.pid } : {}),
      ...(c.containerId !== undefined && !down ? { containerId: c.containerId } : {}),
      health,
      registered: registration !== undefined,
      ...(heartbeat !== undefined
        ? { lastHeartbeat: new Date(heartbeat).toISOString(), lastHeartbeatAgoMs: now - heartbeat }
        : {}),
      restarts: c.restarts,
      ...(c.startedAt !== undefined && !["stopped", "exited", "failed"].includes(c.phase)
        ? { uptimeMs: now - c.startedAt }
        : {}),
      ...(down ? {} : usage.get(c.id)),
      ...(down ? {} : replicaField(replicas.get(c.id))),
      ports: state.orchestrator === "swarm" && tasks.get(c.id)?.some((t) => t.ports.length > 0)
        ? (tasks.get(c.id) ?? []).flatMap((t) => t.ports)
        : portsOf(components.get(c.id), state.orchestrator),
      node: modeOf(state.orchestrator).listsTasks && c.kind !== "data-path"
        ? nodesOf(tasks.get(c.id) ?? [])
        : node,
      // The data path is a process on flowctl's host in every mode, not a swarm service.
      ...(modeOf(state.orchestrator).listsTasks && c.kind !== "data-path"
        ? { tasks: tasks.get(c.id) ?? [] }
        : {}),
    };
  });
}

/** The nodes a swarm component's live tasks run on ("-" when it has none). */
function nodesOf(tasks: readonly TaskView[]): string {
  const nodes = [...new Set(tasks.map((task) => task.node))];
  return nodes.length > 0 ? nodes.join(",") : "-";
}

function formatAgo(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
}

/** CPU and memory of each running component, by id. */
function usageOf(state: RunState) {
  const running = state.components.filter((c) =>
    !["pending", "stopped", "exited", "failed", "restarting"].includes(c.phase)
  );
  return usageWithReplicas(running, CPU_SAMPLE_MS);
}

/** The pipeline's components as its file says now, for their ports; none when unreadable. */
async function componentsOf(state: RunState): Promise<Map<string, Component>> {
  if (state.file === "-") return new Map();
  try {
    const { pipeline } = await loadPipelineFile(state.file, { orchestrator: state.orchestrator });
    return new Map(pipeline.components.map((c) => [c.id, c]));
  } catch {
    return new Map();
  }
}

function portsOf(component: Component | undefined, orchestrator: OrchestratorKind): string[] {
  return component?.ports.map((port) => describePort(orchestrator, port)) ?? [];
}

function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)}K`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)}M`;
  return `${(bytes / 1024 ** 3).toFixed(2)}G`;
}

/**
 * `status -w`: the status again every 2 s until Ctrl+C; on a terminal in place, otherwise as a
 * new table each time.
 */
async function watchStatus(args: string[], format: "text" | "json"): Promise<number> {
  const text = format === "text";
  const inPlace = Deno.stdout.isTerminal() && text;
  const out = createOutput(format);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  try {
    while (!stop.signal.aborted) {
      if (inPlace) out.rawText(CLEAR_SCREEN);
      await statusCommand.run(args);
      if (text && !inPlace) out.line("");
      await delay(WATCH_INTERVAL_MS, { signal: stop.signal });
    }
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
  }
  return ExitCode.ok;
}

/** `1 pid 4242 12.0M, 2 pid 4250 11.8M`: each replica's process (or container) and memory. */
function describeReplicas(replicas: readonly ReplicaView[]): string {
  return replicas.map((r) => {
    const where = r.pid !== undefined ? `pid ${r.pid}` : `container ${r.containerId?.slice(0, 12)}`;
    const memory = r.rssBytes !== undefined ? ` ${formatBytes(r.rssBytes)}` : r.up ? "" : " down";
    return `${r.replica} ${where}${memory}`;
  }).join(", ");
}

const replicaField = (replicas: ReplicaView[] | undefined) => replicas ? { replicas } : {};
