/**
 * `run`'s preflight without a run: what `validate` checks on this machine. Nothing is started,
 * pulled or created; `offline` leaves out what needs the Docker engine or a registry.
 */
import type { Pipeline } from "../config/mod.ts";
import { missingPaths } from "../orchestrator/host_paths.ts";
import { busyHostPorts } from "../orchestrator/host_ports.ts";
import { type Orchestrator, PreflightError } from "../orchestrator/orchestrator.ts";
import { ProcessOrchestrator } from "../orchestrator/process/process_orchestrator.ts";

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
  if (options.offline && pipeline.orchestrator !== "process") {
    return { problems: missingPaths(pipeline), busyPorts };
  }
  try {
    await using stack = new AsyncDisposableStack();
    const orchestrator = await orchestratorFor(pipeline, stack);
    await orchestrator.check(pipeline, { signal: options.signal, hostPorts: false });
    return { problems: [], busyPorts };
  } catch (error) {
    if (!(error instanceof PreflightError)) throw error;
    return { problems: [...error.problems], busyPorts };
  }
}

async function orchestratorFor(
  pipeline: Pipeline,
  stack: AsyncDisposableStack,
): Promise<Orchestrator> {
  if (pipeline.orchestrator === "process") return new ProcessOrchestrator();
  if (pipeline.orchestrator === "swarm") {
    const { SwarmOrchestrator } = await import("../orchestrator/swarm/swarm_orchestrator.ts");
    return stack.use(await SwarmOrchestrator.connect());
  }
  const { ContainerOrchestrator } = await import(
    "../orchestrator/container/container_orchestrator.ts"
  );
  return stack.use(await ContainerOrchestrator.connect());
}
