/** The tasks of a swarm run as `flowctl status` shows them; the engine is read below. */
import type { TaskView } from "../orchestrator/swarm/swarm_tasks.ts";

export { swarmTasks, type TaskView } from "../orchestrator/swarm/swarm_tasks.ts";

/** `2 on node-a (running), 1 on node-b (starting)`, for the text table. */
export function describeTasks(tasks: readonly TaskView[]): string {
  const groups = new Map<string, number>();
  for (const task of tasks) {
    const key = `${task.node} ${task.nodeId.slice(0, 12)} (${task.state})`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return [...groups].map(([key, count]) => `${count} on ${key}`).join(", ") || "-";
}
