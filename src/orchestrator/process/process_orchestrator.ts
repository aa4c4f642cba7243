/**
 * The process orchestrator: each component is a child process spawned `detached` in its own
 * session and process group, so that stopping the group stops `npm start`'s children too.
 * Descendants that left the group (`setsid daemon &`) are found by the mark every component
 * carries in its environment, and by holding the component's output pipes.
 */
import type { Pipeline } from "../../config/mod.ts";
import { PROCESS_MARK_VAR } from "../../proc/process_group.ts";
import { missingPaths } from "../host_paths.ts";
import { busyHostPorts } from "../host_ports.ts";
import { suggestExecutable } from "./suggest_executable.ts";
import {
  type CheckOptions,
  type OpenOptions,
  type Orchestrator,
  type OrchestratorRun,
  PreflightError,
} from "../orchestrator.ts";
import { RunEnvs } from "../run_envs.ts";
import { checkDirectory, findExecutable, pathOf } from "./executable.ts";
import {
  checkImageProgram,
  checkMetadataEventTypes,
  resolveImagePrograms,
} from "./image_programs.ts";
import { processMark, ProcessRun } from "./process_run.ts";

/**
 * Runs components as local processes, each in its own session and process group: `check()`
 * finds every missing command, folder and busy port; `open()` computes each environment once.
 */
export class ProcessOrchestrator implements Orchestrator {
  readonly kind = "process" as const;

  async check(pipeline: Pipeline, { hostPorts = true }: CheckOptions): Promise<void> {
    const problems: string[] = [];
    for (const component of pipeline.components) {
      const dirProblem = checkDirectory(component.workingDir);
      if (dirProblem) {
        problems.push(`component "${component.id}": working_dir ${dirProblem}`);
        continue;
      }
      if (component.fromImage) {
        const problem = await checkImageProgram(component);
        if (problem) problems.push(problem);
        continue;
      }
      const program = component.argv[0] ?? "";
      if (!findExecutable(program, component.workingDir, pathOf(component))) {
        problems.push(
          `component "${component.id}": command "${program}" not found${
            program.includes("/")
              ? ` (in ${component.workingDir})`
              : ` on PATH${suggestExecutable(program, pathOf(component))}`
          }`,
        );
      }
    }
    problems.push(...(hostPorts ? busyHostPorts(pipeline) : []), ...missingPaths(pipeline));
    if (problems.length > 0) throw new PreflightError(problems);
  }

  async open(pipeline: Pipeline, options: OpenOptions): Promise<OrchestratorRun> {
    const endpoint = `127.0.0.1:${options.controlPlane.port}`;
    const programs = await resolveImagePrograms(pipeline, options);
    checkMetadataEventTypes(pipeline, programs, options);
    const envs = new RunEnvs();
    for (const c of pipeline.components) {
      envs.set(c.id, {
        ...options.envFor(c, endpoint, programs.get(c.id)?.metadata),
        // The mark goes last, so a component's own env cannot remove it.
        [PROCESS_MARK_VAR]: processMark(options.runId, c.id),
      });
    }
    const argvs = new Map(
      pipeline.components.map((c) => {
        const executable = programs.get(c.id)?.executable;
        return [c.id, executable ? [executable, ...c.argv] : c.argv] as const;
      }),
    );
    return new ProcessRun(pipeline, options.runId, envs, argvs);
  }
}
