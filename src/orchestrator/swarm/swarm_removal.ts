/** Removing a run's services and network: each waits until the swarm has let go of it. */
import { delay } from "../../delay.ts";
import type { DockerClient } from "../../docker/docker_client.ts";
import { DockerApiError } from "../../docker/docker_errors.ts";
import { listTasks, removeService, taskExists } from "../../docker/swarm_api.ts";

/** How often task states are polled (the Engine API has no task event stream to follow). */
export const POLL_MS = 100;
/** How long removing a run waits for its tasks to be gone. */
const TASKS_GONE_MS = 60_000;

/**
 * Removes services one by one and waits until none of their tasks is left: the swarm forgets a
 * removed service's task once its node has stopped it, and this node's containers of it are gone.
 */
export async function removeServicesAndWait(
  docker: DockerClient,
  serviceIds: readonly string[],
): Promise<void> {
  const deadline = Date.now() + TASKS_GONE_MS;
  for (const id of serviceIds) {
    const tasks = await listTasks(docker, id);
    await removeService(docker, id);
    for (const task of tasks) {
      while (await taskExists(docker, task.ID) && Date.now() < deadline) await delay(POLL_MS);
    }
    while (
      (await docker.listContainers("com.docker.swarm.service.id", id)).length > 0 &&
      Date.now() < deadline
    ) {
      await delay(POLL_MS);
    }
  }
}

/** Removes a network, retrying while the endpoints of tasks just removed still hold it. */
export async function removeNetworkWhenFree(docker: DockerClient, id: string): Promise<void> {
  const deadline = Date.now() + TASKS_GONE_MS;
  while (true) {
    try {
      await docker.removeNetwork(id);
      return;
    } catch (error) {
      if (!(error instanceof DockerApiError) || Date.now() > deadline) throw error;
      await delay(POLL_MS * 2);
    }
  }
}
