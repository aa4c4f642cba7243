/**
 * Cleaning up after a flowctl that was killed: its component process groups (from its state
 * file) and its containers and networks (by label). `run` does it before starting again and
 * `down` does it on request.
 */
import type { Pipeline } from "../config/mod.ts";
import type { DockerClient } from "../docker/docker_client.ts";
import { type Removed, stopLeftoverProcesses } from "../state/recover.ts";
import type { RunState } from "../state/state_file.ts";
import { LABEL_PIPELINE } from "../docker/labels.ts";
import { DockerApiError } from "../docker/docker_errors.ts";

export interface Leftovers {
  /** Process groups stopped, per component. */
  processes: Removed[];
  containers: number;
  networks: number;
  /** Swarm services (swarm mode). */
  services: number;
}

export interface RemoveLeftoversOptions {
  /** The state file of the dead run, if there was one. */
  state?: RunState | undefined;
  /** Given when containers are to be removed too (container mode now, or in the dead run). */
  docker?: DockerClient | undefined;
}

/** Stops and removes what a dead run of `pipeline` left behind. */
export async function removeLeftovers(
  pipeline: Pipeline,
  options: RemoveLeftoversOptions,
): Promise<Leftovers> {
  const processes = options.state ? await stopLeftoverProcesses(options.state, pipeline) : [];
  const objects = options.docker
    ? await removePipelineObjects(options.docker, pipeline.name)
    : { containers: 0, networks: 0, services: 0 };
  return { processes, ...objects };
}

/** Whether cleaning up `pipeline` involves containers: it runs in containers now or did before. */
export function involvesContainers(pipeline: Pipeline, state: RunState | undefined): boolean {
  return pipeline.orchestrator !== "process" ||
    (state !== undefined && state.orchestrator !== "process");
}

/** Removes every service, container and network labelled with `pipeline`. */
async function removePipelineObjects(
  docker: DockerClient,
  pipeline: string,
): Promise<{ containers: number; networks: number; services: number }> {
  const services = await removeSwarmServices(docker, pipeline);
  const containers = await docker.listContainers(LABEL_PIPELINE, pipeline);
  for (const container of containers) await docker.removeContainer(container.Id);
  const networks = await docker.listNetworks(LABEL_PIPELINE, pipeline);
  for (const network of networks) await docker.removeNetwork(network.Id);
  return { containers: containers.length, networks: networks.length, services };
}

/** Removes the pipeline's services when the engine is a swarm manager, and waits for their tasks. */
async function removeSwarmServices(docker: DockerClient, pipeline: string): Promise<number> {
  const { listServices } = await import("../docker/swarm_api.ts");
  const { removeServicesAndWait } = await import("./swarm.ts");
  // A 503 (not a swarm manager) means there are none to remove.
  const services = await listServices(docker, LABEL_PIPELINE, pipeline).catch((error) => {
    if (error instanceof DockerApiError && error.status === 503) return [];
    throw error;
  });
  await removeServicesAndWait(docker, services.map((s) => s.ID));
  return services.length;
}
