/** The tasks of a swarm run per component and node, for `flowctl status`. */
import { DockerClient } from "../../docker/docker_client.ts";
import { LABEL_COMPONENT, LABEL_RUN } from "../../docker/labels.ts";
import { inspectNode, listServices, listTasks } from "../../docker/swarm_api.ts";

export interface TaskView {
  id: string;
  nodeId: string;
  /** The node's hostname. */
  node: string;
  state: string;
}

/**
 * The live tasks (those the swarm wants running) of each component of a swarm run, by component
 * id; empty when the run is not a swarm run or the engine does not answer.
 */
export async function swarmTasks(
  state: { orchestrator: string; runId: string },
): Promise<Map<string, TaskView[]>> {
  const byComponent = new Map<string, TaskView[]>();
  if (state.orchestrator !== "swarm") return byComponent;
  try {
    using docker = await DockerClient.connect();
    const nodes = new Map<string, Promise<string>>();
    const nodeName = (id: string) => {
      let name = nodes.get(id);
      if (!name) {
        name = inspectNode(docker, id).then((node) => node?.Description?.Hostname ?? id);
        nodes.set(id, name);
      }
      return name;
    };
    for (const service of await listServices(docker, LABEL_RUN, state.runId)) {
      const component = service.Spec.Labels?.[LABEL_COMPONENT];
      if (!component) continue;
      const tasks = (await listTasks(docker, service.ID)).filter((t) =>
        t.DesiredState === "running"
      );
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
  } catch {
    // The engine is away: status still shows what flowctl reports.
  }
  return byComponent;
}
