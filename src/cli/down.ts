/** `flowctl down`: stops a running pipeline, or removes what a killed flowctl left behind. */
import { removeStaleAdminSocket } from "../admin/admin_server.ts";
import { DockerUnavailableError } from "../docker/docker_errors.ts";
import { delay } from "../delay.ts";
import { involvesContainers, removeLeftovers } from "../recovery/leftovers.ts";
import type { Pipeline } from "../config/mod.ts";
import { isRunLive, type RunState } from "../state/state_file.ts";
import { outputFormat, parseCommandArgs } from "./_args.ts";
import { findPipeline, loadTargetPipeline } from "./_target.ts";
import { UsageError } from "./usage_error.ts";
import { adminSocketPath } from "../admin/protocol.ts";
import type { CommandModule } from "./command.ts";
import { ExitCode } from "./exit_code.ts";
import { createOutput } from "./output.ts";

export const downCommand: CommandModule = {
  help: `Usage: flowctl down [name|file|-] [--output text|json]

The pipeline is named by its name or its file, or is the only one running. If it is running,
asks its flowctl to stop (SIGTERM) and waits for it. If flowctl was killed, stops the component
processes it recorded (only those whose start time and run mark match), removes the pipeline's
containers and networks (by label) and its admin socket, then says what it removed.

Exit codes: 0 done (also when there was nothing to do), 1 something could not be removed or
no pipeline was named and none is running, 2 usage or configuration error.`,
  async run(args) {
    const { values, positionals } = parseCommandArgs("down", args, { output: { type: "string" } });
    const out = createOutput(outputFormat("down", values.output));
    const target = await findPipeline("down", positionals);
    if (target.rest.length > 0) {
      throw new UsageError(
        `unexpected argument "${target.rest[0]}"`,
        `usage: flowctl down [name|file] (see "flowctl down --help")`,
      );
    }
    const pipeline = await loadTargetPipeline(target);
    const report: string[] = [];
    let state = target.state;
    if (state && isRunLive(state)) {
      report.push(`Stopping the running flowctl (pid ${state.flowctl.pid})`);
      if (!(await stopLiveRun(state, pipeline))) {
        out.error(
          `flowctl: pipeline "${pipeline.name}" (flowctl pid ${state.flowctl.pid}) did not stop within ${
            Math.round(stopTimeoutMs(pipeline) / 1000)
          }s`,
        );
        return ExitCode.failure;
      }
      report.push(`Pipeline ${pipeline.name} stopped`);
      state = undefined; // it cleaned up after itself; containers are still checked below
    }

    // A killed flowctl could not remove its admin socket; nothing listens on it any more.
    await Deno.remove(adminSocketPath(pipeline.name)).catch(() => {});
    let failed = false;
    try {
      using docker = involvesContainers(pipeline, state) ? await connectDocker() : undefined;
      const leftovers = await removeLeftovers(pipeline, { state, docker });
      if (leftovers.liveOwner) {
        report.push(
          `Containers of ${pipeline.name} belong to flowctl pid ${leftovers.liveOwner.pid}, which is still running (with another state folder): left alone; stop that flowctl instead`,
        );
      }
      for (const removed of leftovers.processes) {
        report.push(
          removed.alreadyGone !== undefined
            ? `Component ${removed.component} was already gone: pid ${removed.alreadyGone} is not the process flowctl started (start time or run mark differ); left alone`
            : `Stopped component ${removed.component}: process group ${removed.pids.join(", ")}`,
        );
      }
      if (leftovers.containers + leftovers.networks + leftovers.services > 0) {
        report.push(
          `Removed ${
            leftovers.services > 0 ? `${leftovers.services} service(s), ` : ""
          }${leftovers.containers} container(s) and ${leftovers.networks} network(s) of ${pipeline.name}`,
        );
      }
    } catch (error) {
      if (!(error instanceof DockerUnavailableError)) throw error;
      out.error(`flowctl: ${error.message}`);
      failed = true;
    }
    // A run killed with -9 could not remove its admin socket; no flowctl runs it now.
    await removeStaleAdminSocket(pipeline.name);
    if (report.length === 0) {
      report.push(`Nothing of pipeline ${pipeline.name} was left to clean up`);
    }
    if (out.format === "json") out.json({ pipeline: pipeline.name, actions: report, ok: !failed });
    else for (const line of report) out.line(line);
    return failed ? ExitCode.failure : ExitCode.ok;
  },
};

/** Asks the running flowctl to stop (SIGTERM) and waits; false when it did not stop in time. */
async function stopLiveRun(state: RunState, pipeline: Pipeline): Promise<boolean> {
  Deno.kill(state.flowctl.pid, "SIGTERM");
  const deadline = Date.now() + stopTimeoutMs(pipeline);
  while (isRunLive(state) && Date.now() < deadline) await delay(50);
  return !isRunLive(state);
}

/** Every level's longest grace period, one level after another, and some slack. */
function stopTimeoutMs(pipeline: Pipeline): number {
  return Math.max(...pipeline.components.map((c) => c.stopGraceMs), 0) * pipeline.levels.length +
    10_000;
}

async function connectDocker() {
  const { DockerClient } = await import("../docker/docker_client.ts");
  return await DockerClient.connect();
}
