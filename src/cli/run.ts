/** `flowctl run`: starts a pipeline and keeps it running until Ctrl+C, a failure, or completion. */
import { resolve } from "node:path";
import { PreflightError } from "../orchestrator/orchestrator.ts";
import { ProcessOrchestrator } from "../orchestrator/process.ts";
import { componentEnv } from "../runner/component_env.ts";
import { PipelineRunner } from "../runner/pipeline_runner.ts";
import { orchestratorKind, outputFormat, parseCommandArgs, singleFile } from "./_args.ts";
import { loadPipelineFile } from "./_load.ts";
import type { Command } from "./command.ts";
import { ExitCode } from "./exit_code.ts";
import { formatIssue } from "../config/mod.ts";
import { ComponentConsole } from "./component_console.ts";
import { createOutput } from "./output.ts";
import { renderEvent } from "./run_renderer.ts";
import { UsageError } from "./usage_error.ts";
import { installShutdownSignals } from "./shutdown_signals.ts";

const HELP = `Usage: flowctl run <file|-> [options]

Starts the pipeline: components in dependency order, each after its inputs pass their health
checks. Runs until Ctrl+C (or SIGTERM/SIGHUP), a component fails, or every sink has finished.
A second Ctrl+C skips the grace periods.

Options:
  --orchestrator process|container  overrides spec.driver
  --log-dir DIR                     component log files (default: logs)
  --control-plane-port N            control plane port (default: 8080; 0 picks a free one)
  --quiet                           do not show component output (it still goes to the log files)
  --output text|json                json: one event per line on stdout, for scripts

Exit codes: 0 stopped or completed, 1 a component failed, 2 usage or configuration error,
130 stopped by a second Ctrl+C.`;

export const runCommand: Command = {
  name: "run",
  summary: "Run a pipeline",
  help: HELP,
  async run(args) {
    const { values, positionals } = parseCommandArgs("run", args, {
      orchestrator: { type: "string" },
      "log-dir": { type: "string" },
      "control-plane-port": { type: "string" },
      quiet: { type: "boolean" },
      output: { type: "string" },
    });
    const out = createOutput(outputFormat("run", values.output));
    const orchestrator = orchestratorKind("run", values.orchestrator);
    const file = singleFile("run", positionals);
    const controlPlanePort = parsePort(values["control-plane-port"] ?? "8080");
    const logDir = resolve(values["log-dir"] ?? "logs");

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

    await using backend = new ProcessOrchestrator();
    try {
      await backend.preflight(pipeline);
    } catch (error) {
      if (!(error instanceof PreflightError)) throw error;
      renderEvent(out, {
        type: "pipeline_failed",
        component: "",
        reason: error.message,
        logTail: [],
      });
      return ExitCode.failure;
    }

    const consoleOut = values.quiet || out.format === "json"
      ? undefined
      : new ComponentConsole(pipeline.components.map((c) => c.id), out);
    const runner = new PipelineRunner(pipeline, {
      orchestrator: backend,
      logDir,
      envFor: (component) =>
        componentEnv(pipeline, component, {
          controlPlaneEndpoint: `${backend.controlPlaneHost}:${controlPlanePort}`,
          heartbeatInterval: "10s",
          runId,
          hostEnv,
        }),
      stop: signals.stop,
      force: signals.force,
      onEvent: (event) => renderEvent(out, event),
      ...(consoleOut
        ? { onOutput: (id: string, lines: Uint8Array) => consoleOut.write(id, lines) }
        : {}),
    });
    renderEvent(out, {
      type: "pipeline_starting",
      pipeline: pipeline.name,
      orchestrator: pipeline.orchestrator,
      runId,
      components: pipeline.components.length,
    });
    const outcome = await runner.run();
    if (signals.force.aborted) return ExitCode.forced;
    return outcome.result === "failed" ? ExitCode.failure : ExitCode.ok;
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
