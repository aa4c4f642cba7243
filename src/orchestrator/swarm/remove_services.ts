/** Removing swarm services for good: until their tasks and this node's containers are gone. */
import { delay } from "../../delay.ts";
import type { DockerClient } from "../../docker/docker_client.ts";
import { listTasks, removeService, taskExists } from "../../docker/swarm_api.ts";

const POLL_MS = 100;
/** How long removing waits for the tasks to be gone. */
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
