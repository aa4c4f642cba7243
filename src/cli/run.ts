/** `flowctl run`: starts a pipeline and keeps it running until Ctrl+C, a failure, or completion. */
import { resolve } from "node:path";
import { formatIssue, parseDuration } from "../config/mod.ts";
import type { RunnerEvent } from "../runner/events.ts";
import { runSession } from "../runner/run_session.ts";
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
  --orchestrator process|container|swarm
                                    overrides spec.driver
  --control-plane-address ADDR      swarm: the address every node reaches the control plane at
                                    (default: this node's swarm address); it listens there too
  --log-dir DIR                     component log files (default: logs)
  --control-plane-port N            control plane port (default: 8080; 0 picks a free one)
  --heartbeat-interval D            FLOWCTL_HEARTBEAT_INTERVAL given to components (default: 10s);
                                    a component is stale after three missed intervals
  --open-control-plane              let any local caller register as any component (by default
                                    only a component's own processes or container may)
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
      "control-plane-address": { type: "string" },
      "heartbeat-interval": { type: "string" },
      "open-control-plane": { type: "boolean" },
      quiet: { type: "boolean" },
      output: { type: "string" },
    });
    const out = createOutput(outputFormat("run", values.output));
    const orchestrator = orchestratorKind("run", values.orchestrator);
    const file = singleFile("run", positionals);
    const controlPlanePort = parsePort(values["control-plane-port"] ?? "8080");
    const heartbeatText = values["heartbeat-interval"] ?? "10s";
    const heartbeat = { text: heartbeatText, ms: parseHeartbeat(heartbeatText) };
    const emit = (event: RunnerEvent) => renderEvent(out, event);

    // Signal handlers go in before anything starts, so nothing can be orphaned.
    const signals = installShutdownSignals({
      onFirst: (signal) => emit({ type: "shutdown_requested", signal }),
      onSecond: () => emit({ type: "shutdown_forced" }),
    });
    let loaded;
    try {
      loaded = await loadPipelineFile(file, orchestrator ? { orchestrator } : {});
    } catch (error) {
      signals[Symbol.dispose]();
      throw error;
    }
    const { pipeline, warnings } = loaded;
    for (const warning of warnings) out.error(`warning: ${formatIssue(warning)}`);
    const consoleOut = values.quiet || out.format === "json"
      ? undefined
      : new ComponentConsole(pipeline.components.map((c) => c.id), out);
    const result = await runSession(pipeline, {
      logDir: resolve(values["log-dir"] ?? "logs"),
      controlPlanePort,
      controlPlaneAddress: values["control-plane-address"],
      openControlPlane: values["open-control-plane"] ?? false,
      heartbeat,
      signals,
      emit,
      ...(consoleOut ? { onOutput: (id, lines) => consoleOut.write(id, lines) } : {}),
      // Pull progress rewrites one line, on a terminal only.
      ...(out.color && out.format === "text"
        ? { onPullProgress: (id, line) => out.rawText(`\r\x1b[K${`${id}: ${line}`.slice(0, 120)}`) }
        : {}),
    });
    if (signals.force.aborted) return ExitCode.forced;
    return result === "failed" || result === "refused" ? ExitCode.failure : ExitCode.ok;
  },
};

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
