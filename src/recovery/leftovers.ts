/**
 * Cleaning up after a flowctl that was killed: its component process groups (from its state
 * file) and its containers and networks (by label). `run` does it before starting again and
 * `down` does it on request.
 */
import type { Pipeline } from "../config/mod.ts";
import type { DockerClient } from "../docker/docker_client.ts";
import { type Removed, stopLeftoverProcesses } from "./leftover_processes.ts";
import { isOwnerAlive, type RunOwner } from "../proc/owner.ts";
import type { RunState } from "../state/state_file.ts";
import { LABEL_PIPELINE, ownerFromLabels } from "../docker/labels.ts";
import * as v from "valibot";
import { DockerApiError } from "../docker/docker_errors.ts";
import { modeOf } from "../orchestrator/select.ts";
import { loadLater } from "../load_later.ts";

const VolumeListSchema = v.looseObject({
  Volumes: v.nullish(v.array(v.looseObject({ Name: v.string() }))),
});

export interface Leftovers {
  /** Process groups stopped, per component. */
  processes: Removed[];
  containers: number;
  networks: number;
  /** A live flowctl (another run, maybe from another state folder) owns the objects found. */
  liveOwner?: RunOwner;
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
  return modeOf(pipeline.orchestrator).usesEngine ||
    (state !== undefined && modeOf(state.orchestrator).usesEngine);
}

/**
 * Removes every service, container and network labelled with `pipeline`, and the named volumes a
 * run created (volumes that existed before a run never carry the label), unless a flowctl that is
 * alive owns any of them: then it removes nothing and names that owner. Objects without owner
 * labels (made by an older flowctl) count as leftovers.
 */
async function removePipelineObjects(
  docker: DockerClient,
  pipeline: string,
): Promise<{ containers: number; networks: number; services: number; liveOwner?: RunOwner }> {
  let containers = await docker.listContainers(LABEL_PIPELINE, pipeline);
  const networks = await docker.listNetworks(LABEL_PIPELINE, pipeline);
  for (const object of [...containers, ...networks]) {
    const owner = ownerFromLabels(object.Labels);
    if (owner && isOwnerAlive(owner)) {
      return { containers: 0, networks: 0, services: 0, liveOwner: owner };
    }
  }
  const services = await removeSwarmServices(docker, pipeline);
  // Removing services removed their task containers too.
  if (services > 0) containers = await docker.listContainers(LABEL_PIPELINE, pipeline);
  for (const container of containers) await docker.removeContainer(container.Id);
  for (const network of networks) await docker.removeNetwork(network.Id);
  const volumes = await docker.json(VolumeListSchema, "GET", "/volumes", {
    query: { filters: JSON.stringify({ label: [`${LABEL_PIPELINE}=${pipeline}`] }) },
  });
  for (const volume of volumes.Volumes ?? []) {
    await docker.call("DELETE", `/volumes/${encodeURIComponent(volume.Name)}`, {
      accept: [404, 409],
    });
  }
  return { containers: containers.length, networks: networks.length, services };
}

/** Removes the pipeline's services when the engine is a swarm manager, and waits for their tasks. */
async function removeSwarmServices(docker: DockerClient, pipeline: string): Promise<number> {
  const { listSecrets, listServices, removeSecret } = await loadLater<
    typeof import("../docker/swarm_api.ts")
  >(
    new URL("../docker/swarm_api.ts", import.meta.url),
  );
  const { removeServicesAndWait } = await loadLater<
    typeof import("../orchestrator/swarm/swarm_removal.ts")
  >(
    new URL("../orchestrator/swarm/swarm_removal.ts", import.meta.url),
  );
  // A 503 (not a swarm manager) means there are none to remove.
  const services = await listServices(docker, LABEL_PIPELINE, pipeline).catch((error) => {
    if (error instanceof DockerApiError && error.status === 503) return [];
    throw error;
  });
  await removeServicesAndWait(docker, services.map((s) => s.ID));
  // The run's swarm secrets go once no service uses them.
  const secrets = await listSecrets(docker, LABEL_PIPELINE, pipeline).catch((error) => {
    if (error instanceof DockerApiError && error.status === 503) return [];
    throw error;
  });
  for (const secret of secrets) await removeSecret(docker, secret.ID);
  return services.length;
}

/** Notice lines about what an earlier, killed run left and this one removed. */
export function describeLeftovers(pipeline: Pipeline, leftovers: Leftovers): string[] {
  const lines = leftovers.processes.map((removed) =>
    `Stopped component ${removed.component} left by an earlier run (process group ${
      removed.pids.join(", ")
    })`
  );
  if (leftovers.containers + leftovers.networks + leftovers.services > 0) {
    lines.push(
      `Removed ${
        leftovers.services > 0 ? `${leftovers.services} service(s), ` : ""
      }${leftovers.containers} container(s) and ${leftovers.networks} network(s) left by an earlier run of ${pipeline.name}`,
    );
  }
  return lines;
}
