/** `flowctl run`: starts a pipeline and keeps it running until Ctrl+C, a failure, or completion. */
import { absolutePath } from "../absolute_path.ts";
import { formatIssue } from "../config/mod.ts";
import { runSession } from "../runner/run_session.ts";
import {
  componentRegistry,
  orchestratorKind,
  outputFormat,
  parseCommandArgs,
  parseHeartbeat,
  parsePort,
  singleFile,
} from "./_args.ts";
import { type LoadOptions, loadPipelineFile } from "./_load.ts";
import type { CommandModule } from "./command.ts";
import { ComponentConsole } from "./component_console.ts";
import { ExitCode } from "./exit_code.ts";
import { createOutput, type Output } from "./output.ts";
import { eventOutput } from "./run_renderer.ts";
import { installShutdownSignals } from "./shutdown_signals.ts";
import { notifyStarted, READY_OPTION, runDetached } from "./_detach.ts";
import { UsageError } from "./usage_error.ts";
import { requestDashboard } from "../admin/admin_client.ts";
import { Dashboard } from "../ui/dashboard.ts";
import { isLoopback, parseDashboardAddress, showDashboardUrl } from "./_dashboard.ts";

const HELP = `Usage: flowctl run <file|-> [options]

Starts the pipeline: components in dependency order, each after its inputs pass their health
checks. Runs until Ctrl+C (or SIGTERM/SIGHUP), a component fails, or every sink has finished.
A second Ctrl+C skips the grace periods.

Options:
  --orchestrator process|container|swarm
                                    overrides spec.driver
  --component-registry R            where "type: name@version" components live (default:
                                    FLOWCTL_COMPONENT_REGISTRY, else docker.io/withobsrvr)
  --control-plane-address ADDR      swarm: the address every node reaches the control plane at
                                    (default: this node's swarm address); it listens there too
  --log-dir DIR                     component log files (default: logs)
  --control-plane-port N            control plane port (default: 8080; 0 picks a free one)
  -d, --detach                      run in the background: return once the pipeline started
                                    (exit 0) or failed (exit 1); flowctl's own output then goes
                                    to <state dir>/<pipeline>.out and .err; status, logs, restart,
                                    stop, start, exec and down work on it as on any run
  --heartbeat-interval D            FLOWCTL_HEARTBEAT_INTERVAL given to components (default: 10s);
                                    a component is stale after three missed intervals
  --open-control-plane              let any local caller register as any component (by default
                                    only a component's own processes or container may)
  --quiet                           do not show component output (it still goes to the log files)
  --output text|json                json: one event per line on stdout, for scripts
  --strict                          inputs whose event types never meet, apiVersion "v1" and
                                    lists under config are errors
  --watch                           when the pipeline file, its .env or an env_file changes:
                                    validate it (errors are shown, the running pipeline is left
                                    alone), then restart only the changed components and their
                                    dependents, start new ones, stop removed ones (swarm mode:
                                    update only the changed services in place, one at a time)
  --profile NAME                    also run the components of profile NAME (repeatable);
                                    components without "profiles" always run
  --ui[=ADDR]                       serve a live dashboard of the run (graph, rates, logs,
                                    restart/stop/start) on 127.0.0.1 and a free port, or ADDR
                                    (PORT, HOST or HOST:PORT); prints its URL with its token once

Exit codes: 0 stopped or completed, 1 a component failed, 2 usage or configuration error,
130 stopped by a second Ctrl+C.`;

const RUN_OPTIONS = {
  orchestrator: { type: "string" },
  "component-registry": { type: "string" },
  "log-dir": { type: "string" },
  "control-plane-port": { type: "string" },
  detach: { type: "boolean", short: "d" },
  [READY_OPTION]: { type: "string" },
  "control-plane-address": { type: "string" },
  "heartbeat-interval": { type: "string" },
  "open-control-plane": { type: "boolean" },
  quiet: { type: "boolean" },
  output: { type: "string" },
  strict: { type: "boolean" },
  profile: { type: "string", multiple: true },
  watch: { type: "boolean" },
  ui: { type: "string" },
} as const;

export const runCommand: CommandModule = {
  help: HELP,
  async run(given) {
    // `--ui` takes an optional value: bare, it must not swallow the pipeline file after it.
    const args = given.map((arg) => arg === "--ui" ? "--ui=" : arg);
    const { values, positionals } = parseCommandArgs("run", args, RUN_OPTIONS);
    const uiAddress = values.ui !== undefined ? parseDashboardAddress(values.ui) : undefined;
    const out = createOutput(outputFormat("run", values.output));
    const file = singleFile("run", positionals);
    const heartbeatText = values["heartbeat-interval"] ?? "10s";
    const orchestrator = orchestratorKind("run", values.orchestrator);
    const loadOptions: LoadOptions = {
      ...(orchestrator ? { orchestrator } : {}),
      componentRegistry: componentRegistry("run", values["component-registry"]),
      ...(values.strict ? { strict: true } : {}),
      ...(values.profile ? { profiles: values.profile } : {}),
    };
    if (values.watch && file === "-") {
      throw new UsageError(
        "run --watch needs a pipeline file, not standard input",
        `run "flowctl run --help"`,
      );
    }
    if (values.detach) {
      const code = await detach(file, loadOptions, args, out);
      if (code !== ExitCode.ok || !uiAddress) return code;
      const { pipeline } = await loadForRun(file, loadOptions);
      showDashboardUrl(out, await requestDashboard(pipeline.name));
      return code;
    }
    const { emit, onPullProgress } = eventOutput(out);
    // Signal handlers go in before anything starts, so nothing can be orphaned.
    const signals = installShutdownSignals({
      onFirst: (signal) => emit({ type: "shutdown_requested", signal }),
      onSecond: () => emit({ type: "shutdown_forced" }),
    });
    let pipeline;
    const heartbeatMs = parseHeartbeat(heartbeatText);
    let dashboard: Dashboard;
    try {
      pipeline = await loadForForeground(
        file,
        { ...loadOptions, signal: signals.stop },
        out,
      );
      // It remembers the run's events from the start, so `flowctl ui` can open it later.
      dashboard = new Dashboard(pipeline, { heartbeatMs });
      if (uiAddress) {
        if (!isLoopback(uiAddress.hostname)) {
          out.error(
            `warning: the dashboard listens on ${uiAddress.hostname}, beyond this host: whoever has its URL can stop and restart components`,
          );
        }
        showDashboardUrl(out, await dashboard.start(uiAddress));
      }
    } catch (error) {
      signals[Symbol.dispose]();
      throw error;
    }
    await using _dashboard = dashboard;
    const consoleOut = values.quiet || out.format === "json"
      ? undefined
      : new ComponentConsole(pipeline.components.map((c) => c.id), out);
    /** Set in a detached run: the file the waiting `run -d` watches for the start. */
    const readyFile = values[READY_OPTION];
    const result = await runSession(pipeline, {
      logDir: absolutePath(values["log-dir"] ?? "logs"),
      controlPlanePort: parsePort(values["control-plane-port"] ?? "8080"),
      controlPlaneAddress: values["control-plane-address"],
      openControlPlane: values["open-control-plane"] ?? false,
      ...(values.strict ? { strictEventTypes: true } : {}),
      heartbeat: { text: heartbeatText, ms: heartbeatMs },
      signals,
      emit: (event) => {
        dashboard.record(event);
        emit(event);
      },
      dashboard,
      ...(readyFile !== undefined ? { onStarted: () => notifyStarted(readyFile) } : {}),
      ...(consoleOut ? { onOutput: (id, lines) => consoleOut.write(id, lines) } : {}),
      ...(onPullProgress ? { onPullProgress } : {}),
      ...(values.watch
        ? { reload: async () => (await loadForRun(file, loadOptions)).pipeline }
        : {}),
    });
    if (signals.force.aborted) return ExitCode.forced;
    if (result === "misconfigured") return ExitCode.usage;
    return result === "failed" || result === "refused" ? ExitCode.failure : ExitCode.ok;
  },
};

/** Loads the file of a foreground run and prints its warnings. */
async function loadForForeground(
  file: string,
  options: LoadOptions,
  out: Output,
) {
  const { pipeline, warnings } = await loadForRun(file, options);
  // The driver warning is answered by loadForRun's error or by --orchestrator.
  for (const warning of warnings) out.error(`warning: ${formatIssue(warning)}`);
  return pipeline;
}

/** Loads the file for a run: a file written for another tool's driver is a usage error. */
async function loadForRun(file: string, options: LoadOptions) {
  const loaded = await loadPipelineFile(file, options);
  const driver = loaded.pipeline.foreignDriver;
  if (driver) {
    throw new UsageError(
      `${file} is written for driver "${driver}", which flowctl does not run`,
      'run it here with "--orchestrator container" (or "--orchestrator process")',
    );
  }
  return loaded;
}

/** `run -d`: checks the file here (configuration errors: exit 2), then runs it detached. */
async function detach(
  file: string,
  options: LoadOptions,
  args: readonly string[],
  out: Output,
): Promise<number> {
  if (file === "-") {
    throw new UsageError(
      "run --detach needs a pipeline file, not standard input",
      `run "flowctl run --help"`,
    );
  }
  // Warnings are printed by the detached run itself.
  const { pipeline } = await loadForRun(file, options);
  const childArgs = args.filter((arg) => arg !== "-d" && arg !== "--detach");
  return await runDetached(pipeline.name, childArgs, out);
}
