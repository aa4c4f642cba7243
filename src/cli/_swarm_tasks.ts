/** The tasks of a swarm run per component and node, as `flowctl status` shows them. */
import { DockerClient } from "../docker/docker_client.ts";
import { LABEL_COMPONENT, LABEL_RUN } from "../docker/labels.ts";
import {
  inspectNode,
  listServices,
  listTasks,
  nodeAddress,
  type NodeInfo,
} from "../docker/swarm_api.ts";
import type { RunState } from "../state/state_file.ts";

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
export async function swarmTasks(state: RunState): Promise<Map<string, TaskView[]>> {
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

/** `2 on node-a (running), 1 on node-b (starting)`, for the text table. */
export function describeTasks(tasks: readonly TaskView[]): string {
  const groups = new Map<string, number>();
  for (const task of tasks) {
    const key = `${task.node} ${task.nodeId.slice(0, 12)} (${task.state})`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return [...groups].map(([key, count]) => `${count} on ${key}`).join(", ") || "-";
}
