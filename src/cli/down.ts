/** `flowctl down`: stops a running pipeline, or removes what a killed flowctl left behind. */
import { DockerClient } from "../docker/docker_client.ts";
import { DockerUnavailableError } from "../docker/docker_errors.ts";
import { removePipelineObjects } from "../orchestrator/container.ts";
import { delay } from "../delay.ts";
import { stopLeftoverProcesses } from "../state/recover.ts";
import { isRunLive, readRunState } from "../state/state_file.ts";
import { outputFormat, parseCommandArgs, singleFile } from "./_args.ts";
import { loadPipelineFile } from "./_load.ts";
import type { CommandModule } from "./command.ts";
import { ExitCode } from "./exit_code.ts";
import { createOutput } from "./output.ts";

export const downCommand: CommandModule = {
  help: `Usage: flowctl down <file|-> [--output text|json]

If the pipeline is running, asks its flowctl to stop (SIGTERM) and waits for it. If flowctl was
killed, stops the component processes it recorded (only those whose pid and start time match)
and removes the pipeline's containers and networks (by label), then says what it removed.

Exit codes: 0 done (also when there was nothing to do), 1 something could not be removed,
2 usage or configuration error.`,
  async run(args) {
    const { values, positionals } = parseCommandArgs("down", args, { output: { type: "string" } });
    const out = createOutput(outputFormat("down", values.output));
    const { pipeline } = await loadPipelineFile(singleFile("down", positionals));
    const report: string[] = [];
    const state = await readRunState(pipeline.name);

    if (state && isRunLive(state)) {
      report.push(`Stopping the running flowctl (pid ${state.flowctl.pid})`);
      Deno.kill(state.flowctl.pid, "SIGTERM");
      const graceMs = Math.max(
            ...pipeline.components.map((c) => c.stopGraceMs),
            0,
          ) * pipeline.levels.length + 10_000;
      const deadline = Date.now() + graceMs;
      while (isRunLive(state) && Date.now() < deadline) await delay(50);
      if (isRunLive(state)) {
        out.error(
          `flowctl: pipeline "${pipeline.name}" (flowctl pid ${state.flowctl.pid}) did not stop within ${
            Math.round(graceMs / 1000)
          }s`,
        );
        return ExitCode.failure;
      }
      report.push(`Pipeline ${pipeline.name} stopped`);
    } else if (state) {
      for (const removed of await stopLeftoverProcesses(state, pipeline)) {
        report.push(
          `Stopped component ${removed.component}: process group ${removed.pids.join(", ")}`,
        );
      }
    }

    let failed = false;
    if (pipeline.orchestrator === "container" || state?.orchestrator === "container") {
      try {
        using docker = await DockerClient.connect();
        const removed = await removePipelineObjects(docker, pipeline.name);
        if (removed.liveOwner) {
          report.push(
            `Containers of ${pipeline.name} belong to flowctl pid ${removed.liveOwner.pid}, which is still running (with another state folder): left alone; stop that flowctl instead`,
          );
        }
        if (removed.containers + removed.networks > 0) {
          report.push(
            `Removed ${removed.containers} container(s) and ${removed.networks} network(s) of ${pipeline.name}`,
          );
        }
      } catch (error) {
        if (!(error instanceof DockerUnavailableError)) throw error;
        out.error(`flowctl: ${error.message}`);
        failed = true;
      }
    }
    if (report.length === 0) {
      report.push(`Nothing of pipeline ${pipeline.name} was left to clean up`);
    }
    if (out.format === "json") out.json({ pipeline: pipeline.name, actions: report, ok: !failed });
    else for (const line of report) out.line(line);
    return failed ? ExitCode.failure : ExitCode.ok;
  },
};
