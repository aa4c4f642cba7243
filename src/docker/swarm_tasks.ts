/** The live tasks of a swarm run per component, with the hostnames of their nodes. */
import type { DockerClient } from "./docker_client.ts";
import { LABEL_COMPONENT, LABEL_RUN } from "./labels.ts";
import { inspectNode, listServices, listTasks } from "./swarm_api.ts";

export interface TaskView {
  id: string;
  nodeId: string;
  /** The node's hostname. */
  node: string;
  state: string;
}

/**
 * The tasks the swarm wants running of each component of run `runId`, by component id.
 * @throws {DockerApiError} when the engine refuses a request.
 */
export async function runTasks(
  docker: DockerClient,
  runId: string,
): Promise<Map<string, TaskView[]>> {
  const byComponent = new Map<string, TaskView[]>();
  const nodes = new Map<string, Promise<string>>();
  const nodeName = (id: string) => {
    let name = nodes.get(id);
    if (!name) {
      name = inspectNode(docker, id).then((node) => node?.Description?.Hostname ?? id);
      nodes.set(id, name);
    }
    return name;
  };
  for (const service of await listServices(docker, LABEL_RUN, runId)) {
    const component = service.Spec.Labels?.[LABEL_COMPONENT];
    if (!component) continue;
    const tasks = (await listTasks(docker, service.ID)).filter((t) => t.DesiredState === "running");
    byComponent.set(
      component,
      await Promise.all(tasks.map(async (task) => ({
        id: task.ID,
        nodeId: task.NodeID ?? "",
        node: task.NodeID ? await nodeName(task.NodeID) : "-",
        state: task.Status.State,
      }))),
    );
  }
  return byComponent;
}
