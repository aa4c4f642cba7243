/**
 * `run`'s preflight without a run: what `validate` checks on this machine. Nothing is started,
 * pulled or created; `offline` leaves out what needs the Docker engine or a registry.
 */
import type { Pipeline } from "../config/mod.ts";
import { missingPaths } from "../orchestrator/host_paths.ts";
import { busyHostPorts } from "../orchestrator/host_ports.ts";
import { PreflightError } from "../orchestrator/orchestrator.ts";
import { connectOrchestrator, modeOf } from "../orchestrator/select.ts";

export interface PreflightReport {
  /** What would stop `run` before it starts anything. */
  problems: string[];
  /** Host ports in use right now: by the pipeline itself, maybe, so not a problem of the file. */
  busyPorts: string[];
}

/** Runs the checks of `run`'s preflight for `pipeline` and returns what they found. */
export async function preflight(
  pipeline: Pipeline,
  options: { offline: boolean; signal: AbortSignal },
): Promise<PreflightReport> {
  const busyPorts = busyHostPorts(pipeline);
  if (options.offline && modeOf(pipeline.orchestrator).usesEngine) {
    return { problems: missingPaths(pipeline), busyPorts };
  }
  try {
    await using stack = new AsyncDisposableStack();
    const { orchestrator } = await connectOrchestrator(pipeline, stack, undefined);
    await orchestrator.check(pipeline, { signal: options.signal, hostPorts: false });
    return { problems: [], busyPorts };
  } catch (error) {
    if (!(error instanceof PreflightError)) throw error;
    return { problems: [...error.problems], busyPorts };
  }
}
