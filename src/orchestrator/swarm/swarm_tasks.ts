/** The tasks of a swarm run per component and node, for `flowctl status`. */
import { DockerClient } from "../../docker/docker_client.ts";
import { LABEL_COMPONENT, LABEL_RUN } from "../../docker/labels.ts";
import {
  inspectNode,
  listServices,
  listTasks,
  nodeAddress,
  type NodeInfo,
} from "../../docker/swarm_api.ts";

export interface TaskView {
  id: string;
  nodeId: string;
  /** The node's hostname. */
  node: string;
  state: string;
  /** Its published ports where they really are: `nodeAddress:published->target`. */
  ports: string[];
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
    const nodes = new Map<string, Promise<NodeInfo | undefined>>();
    const nodeOf = (id: string) => {
      let node = nodes.get(id);
      if (!node) {
        node = inspectNode(docker, id);
        nodes.set(id, node);
      }
      return node;
    };
    for (const service of await listServices(docker, LABEL_RUN, state.runId)) {
      const component = service.Spec.Labels?.[LABEL_COMPONENT];
      if (!component) continue;
      const tasks = (await listTasks(docker, service.ID)).filter((t) =>
        t.DesiredState === "running"
      );
      byComponent.set(
        component,
        await Promise.all(tasks.map(async (task) => {
          const node = task.NodeID ? await nodeOf(task.NodeID) : undefined;
          const address = (node && nodeAddress(node)) ?? "-";
          return {
            id: task.ID,
            nodeId: task.NodeID ?? "",
            node: node?.Description?.Hostname ?? task.NodeID ?? "-",
            state: task.Status.State,
            // The engine lists a port once per address family it binds.
            ports: [
              ...new Set(
                (task.Status.PortStatus?.Ports ?? []).map((p) =>
                  `${address}:${p.PublishedPort}->${p.TargetPort}`
                ),
              ),
            ],
          };
        })),
      );
    }
  } catch {
    // The engine is away: status still shows what flowctl reports.
  }
  return byComponent;
}
