/** `flowctl run`: starts a pipeline and keeps it running until Ctrl+C, a failure, or completion. */
import { resolve } from "node:path";
import { formatIssue, parseDuration, type Pipeline } from "../config/mod.ts";
import { startControlPlane } from "../controlplane/control_plane_server.ts";
import { Registry, type RegistryEvent } from "../controlplane/registry.ts";
import type { Orchestrator } from "../orchestrator/orchestrator.ts";
import { PreflightError } from "../orchestrator/orchestrator.ts";
import { readProcStat } from "../orchestrator/process_group.ts";
import { ProcessOrchestrator } from "../orchestrator/process.ts";
import { componentEnv } from "../runner/component_env.ts";
import type { RunnerEvent } from "../runner/events.ts";
import { PipelineRunner } from "../runner/pipeline_runner.ts";
import { isRunLive, readRunState, removeRunState, type RunState } from "../state/state_file.ts";
import { RunLock, RunLockedError } from "../state/run_lock.ts";
import { StateWriter } from "../state/state_writer.ts";
import { stopLeftoverProcesses } from "../state/recover.ts";
import { orchestratorKind, outputFormat, parseCommandArgs, singleFile } from "./_args.ts";
import { loadPipelineFile } from "./_load.ts";
import type { CommandModule } from "./command.ts";
import { ComponentConsole } from "./component_console.ts";
import { ExitCode } from "./exit_code.ts";
import { createOutput } from "./output.ts";
import { renderEvent } from "./run_renderer.ts";
import { installShutdownSignals } from "./shutdown_signals.ts";
import { UsageError } from "./usage_error.ts";

const HELP = `Usage: flowctl run <file|-> [options]

Starts the pipeline: components in dependency order, each after its inputs pass their health
checks. Runs until Ctrl+C (or SIGTERM/SIGHUP), a component fails, or every sink has finished.
A second Ctrl+C skips the grace periods.

Options:
  --orchestrator process|container  overrides spec.driver
  --log-dir DIR                     component log files (default: logs)
  --control-plane-port N            control plane port (default: 8080; 0 picks a free one)
  --heartbeat-interval D            FLOWCTL_HEARTBEAT_INTERVAL given to components (default: 10s);
                                    a component is stale after three missed intervals
  --quiet                           do not show component output (it still goes to the log files)
  --output text|json                json: one event per line on stdout, for scripts

Exit codes: 0 stopped or completed, 1 a component failed, 2 usage or configuration error,
130 stopped by a second Ctrl+C.`;

export const runCommand: CommandModule = {
  help: HELP,
  async run(args) {
    const { values, positionals } = parseCommandArgs("run", args, {
      orchestrator: { type: "string" },
      "log-dir": { type: "string" },
      "control-plane-port": { type: "string" },
      "heartbeat-interval": { type: "string" },
      quiet: { type: "boolean" },
      output: { type: "string" },
    });
    const out = createOutput(outputFormat("run", values.output));
    const orchestrator = orchestratorKind("run", values.orchestrator);
    const file = singleFile("run", positionals);
    const controlPlanePort = parsePort(values["control-plane-port"] ?? "8080");
    const heartbeatInterval = values["heartbeat-interval"] ?? "10s";
    const heartbeatMs = parseHeartbeat(heartbeatInterval);
    const logDir = resolve(values["log-dir"] ?? "logs");
    const emit = (event: RunnerEvent) => renderEvent(out, event);

    // Signal handlers go in before anything starts, so nothing can be orphaned.
    using signals = installShutdownSignals({
      onFirst: (signal) => {
        if (out.format === "json") {
          out.json({ time: new Date().toISOString(), event: "shutdown_requested", signal });
        } else out.line("Received shutdown signal");
      },
      onSecond: () => {
        if (out.format === "json") {
          out.json({ time: new Date().toISOString(), event: "shutdown_forced" });
        } else out.line("Received second signal: stopping without grace periods");
      },
    });

    const { pipeline, warnings } = await loadPipelineFile(
      file,
      orchestrator ? { orchestrator } : {},
    );
    for (const warning of warnings) out.error(`warning: ${formatIssue(warning)}`);
    const runId = crypto.randomUUID();
    const hostEnv = Deno.env.toObject();

    let lock: RunLock;
    try {
      lock = await RunLock.acquire(pipeline.name, {
        file: pipeline.file === "-" ? "-" : resolve(pipeline.file),
      });
    } catch (error) {
      if (!(error instanceof RunLockedError)) throw error;
      emit({ type: "pipeline_failed", component: "", reason: error.message, logTail: [] });
      return ExitCode.failure;
    }
    // Held until everything declared after it has been stopped and disposed.
    using _lock = lock;
    const previous = await readRunState(pipeline.name);
    if (previous && isRunLive(previous) && previous.flowctl.pid !== Deno.pid) {
      emit({
        type: "pipeline_failed",
        component: "",
        reason:
          `Cannot start pipeline: "${pipeline.name}" is already running (flowctl pid ${previous.flowctl.pid}, started from ${previous.file}); stop it first`,
        logTail: [],
      });
      return ExitCode.failure;
    }
    const notice = (message: string) => {
      if (out.format === "json") {
        out.json({ time: new Date().toISOString(), event: "notice", message });
      } else out.line(message);
    };
    if (previous && !isRunLive(previous)) {
      // A killed flowctl left this: stop what it started before starting again.
      for (const removed of await stopLeftoverProcesses(previous, pipeline)) {
        notice(
          `Stopped component ${removed.component} left by an earlier run (process group ${
            removed.pids.join(", ")
          })`,
        );
      }
    }
    let backend: Orchestrator;
    try {
      // Pull progress rewrites one line, on a terminal only.
      const progress = out.color && out.format === "text"
        ? (line: string) => out.rawText(`\r\x1b[K${line.slice(0, 120)}`)
        : undefined;
      backend = await createOrchestrator(pipeline, runId, notice, progress);
    } catch (error) {
      if (!(error instanceof PreflightError)) throw error;
      emit({ type: "pipeline_failed", component: "", reason: error.message, logTail: [] });
      return ExitCode.failure;
    }
    await using _backend = backend;
    try {
      await backend.preflight(pipeline, { signal: signals.stop });
    } catch (error) {
      if (!(error instanceof PreflightError)) throw error;
      emit({ type: "pipeline_failed", component: "", reason: error.message, logTail: [] });
      return ExitCode.failure;
    }

    const registry = new Registry({
      components: pipeline.components.map((c) => ({ id: c.id, healthPorts: healthPorts(c) })),
      heartbeatIntervalMs: heartbeatMs,
      onEvent: (event) => {
        const runnerEvent = registryEvent(event);
        if (runnerEvent) emit(runnerEvent);
        stateWriter.changed();
      },
    });
    await using controlPlane = await startControlPlane({
      registry,
      hosts: backend.controlPlaneListenHosts(),
      port: controlPlanePort,
    });
    const stalenessTimer = setInterval(
      () => registry.checkStaleness(),
      Math.max(50, heartbeatMs / 2),
    );

    const consoleOut = values.quiet || out.format === "json"
      ? undefined
      : new ComponentConsole(pipeline.components.map((c) => c.id), out);
    const runner = new PipelineRunner(pipeline, {
      orchestrator: backend,
      logDir,
      envFor: (component) =>
        componentEnv(pipeline, component, {
          controlPlaneEndpoint: `${backend.controlPlaneHost}:${controlPlane.port}`,
          heartbeatInterval,
          runId,
          hostEnv,
        }),
      stop: signals.stop,
      force: signals.force,
      onEvent: (event) => {
        emit(event);
        stateWriter.changed();
      },
      ...(consoleOut
        ? { onOutput: (id: string, lines: Uint8Array) => consoleOut.write(id, lines) }
        : {}),
      registrations: registry,
      onHandlesChanged: () => stateWriter.flush(),
    });
    const flowctlStart = readProcStat(Deno.pid)?.startTime;
    // Referenced by the callbacks above, which only fire once the runner runs.
    const stateWriter = new StateWriter((): RunState => ({
      version: 1,
      pipeline: pipeline.name,
      file: pipeline.file === "-" ? "-" : resolve(pipeline.file),
      runId,
      orchestrator: pipeline.orchestrator,
      flowctl: {
        pid: Deno.pid,
        ...(flowctlStart !== undefined ? { startTime: flowctlStart } : {}),
      },
      controlPlane: {
        host: backend.controlPlaneListenHosts()[0] ?? "127.0.0.1",
        port: controlPlane.port,
      },
      logDir,
      ...(backend.networkId ? { networkId: backend.networkId } : {}),
      updatedAt: Date.now(),
      components: runner.snapshot(),
    }));
    await stateWriter.flush();

    emit({
      type: "pipeline_starting",
      pipeline: pipeline.name,
      orchestrator: pipeline.orchestrator,
      runId,
      components: pipeline.components.length,
      controlPlane: `${controlPlane.hosts[0]}:${controlPlane.port}`,
    });
    try {
      const outcome = await runner.run();
      if (signals.force.aborted) return ExitCode.forced;
      return outcome.result === "failed" ? ExitCode.failure : ExitCode.ok;
    } finally {
      clearInterval(stalenessTimer);
      await stateWriter.close();
      await removeRunState(pipeline.name);
    }
  },
};

async function createOrchestrator(
  pipeline: Pipeline,
  runId: string,
  onNotice: (message: string) => void,
  onProgress: ((line: string) => void) | undefined,
): Promise<Orchestrator> {
  if (pipeline.orchestrator === "container") {
    const onPullProgress = onProgress
      ? (component: string, line: string) => onProgress(`${component}: ${line}`)
      : undefined;
    // Loaded only here: process mode does not pay for the Docker client.
    const { ContainerOrchestrator } = await import("../orchestrator/container.ts");
    return await ContainerOrchestrator.create({
      runId,
      onNotice,
      ...(onPullProgress ? { onPullProgress } : {}),
    });
  }
  return new ProcessOrchestrator({ runId });
}

/** Ports an older component may name in its health_endpoint: its probe port, ports named "health", and where they are published. */
function healthPorts(component: Pipeline["components"][number]): number[] {
  const ports = new Set<number>();
  const probe = component.health?.probe;
  if (probe && probe.type !== "registered") ports.add(probe.port);
  for (const port of component.ports) {
    if (port.name !== "health" && !ports.has(port.containerPort)) continue;
    ports.add(port.containerPort);
    if (port.hostPort !== undefined) ports.add(port.hostPort);
  }
  return [...ports];
}

function registryEvent(event: RegistryEvent): RunnerEvent | undefined {
  const component = event.registration.componentId ??
    `(unknown service "${event.registration.serviceId}")`;
  switch (event.type) {
    case "registered":
      return {
        type: "component_registered",
        component,
        via: `${event.registration.request.protocol}${
          event.registration.matchedBy ? `, matched by ${event.registration.matchedBy}` : ""
        }`,
      };
    case "stale":
      return { type: "component_stale", component, lastHeartbeatMs: event.silentMs };
    case "resumed":
      return { type: "component_heartbeat_resumed", component };
    case "unregistered":
      return undefined;
  }
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new UsageError(
      `invalid --control-plane-port "${text}": use a port number from 0 to 65535`,
      `run "flowctl run --help"`,
    );
  }
  return port;
}

function parseHeartbeat(text: string): number {
  try {
    return parseDuration(text);
  } catch {
    throw new UsageError(
      `invalid --heartbeat-interval "${text}": use a duration like "10s"`,
      `run "flowctl run --help"`,
    );
  }
}
