/** The tasks of a swarm run per component and node, as `flowctl status` shows them. */
import { DockerClient } from "../docker/docker_client.ts";
import { runTasks, type TaskView } from "../docker/swarm_tasks.ts";
import type { RunState } from "../state/state_file.ts";

export type { TaskView };

/**
 * The live tasks (those the swarm wants running) of each component of a swarm run, by component
 * id; empty when the run is not a swarm run or the engine does not answer.
 */
export async function swarmTasks(state: RunState): Promise<Map<string, TaskView[]>> {
  if (state.orchestrator !== "swarm") return new Map();
  try {
    using docker = await DockerClient.connect();
    return await runTasks(docker, state.runId);
  } catch {
    // The engine is away: status still shows what flowctl reports.
    return new Map();
  }
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
