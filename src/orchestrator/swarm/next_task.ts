/** The task of a service that flowctl follows next: the newest one it has not followed yet. */
import type { Component } from "../../config/mod.ts";
import { delay } from "../../delay.ts";
import type { DockerClient } from "../../docker/docker_client.ts";
import { listTasks, type TaskInfo, TERMINAL_TASK_STATES } from "../../docker/swarm_api.ts";
import { ComponentFailedError } from "../orchestrator.ts";
import { POLL_MS } from "./swarm_removal.ts";
import { rejectionMessage } from "./task_placement.ts";

/** How long a task may stay unschedulable (no node satisfies its constraints) before that fails. */
const UNSCHEDULABLE_MS = 3_000;

export interface NextTaskOptions {
  /** Tasks already followed: a restart or an update waits for a newer one. */
  seen: ReadonlySet<string>;
  /** Ctrl+C while the swarm is still placing or pulling: resolves with undefined. */
  cancel: AbortSignal;
  /** The run is being removed: the start fails. */
  disposed: AbortSignal;
}

/**
 * Waits for the newest task of the service that flowctl has not followed yet to run (or to
 * have ended: a quick exit). A task the swarm rejects, or cannot place, fails the start.
 */
export async function nextTask(
  docker: DockerClient,
  component: Component,
  serviceId: string,
  { seen, cancel, disposed }: NextTaskOptions,
): Promise<TaskInfo | undefined> {
  let unschedulableSince: number | undefined;
  while (true) {
    if (cancel.aborted) return undefined;
    if (disposed.aborted) {
      throw new ComponentFailedError(
        component.id,
        `Component "${component.id}" was stopped before its task ran`,
      );
    }
    const task = (await listTasks(docker, serviceId)).find((t) => !seen.has(t.ID));
    const state = task?.Status.State;
    if (task && (state === "rejected" || (state === "failed" && !containerOf(task)))) {
      throw new ComponentFailedError(component.id, await rejectionMessage(docker, component, task));
    }
    if (task && state === "pending" && task.Status.Err) {
      unschedulableSince ??= Date.now();
      if (Date.now() - unschedulableSince > UNSCHEDULABLE_MS) {
        throw new ComponentFailedError(
          component.id,
          `Component "${component.id}" cannot be placed on any swarm node: ${task.Status.Err}${
            component.placementConstraints.length > 0
              ? ` (placement constraints: ${component.placementConstraints.join(", ")})`
              : ""
          }`,
        );
      }
    }
    if (
      task && containerOf(task) && (state === "running" || TERMINAL_TASK_STATES.has(state ?? ""))
    ) {
      return task;
    }
    await delay(POLL_MS);
  }
}

function containerOf(task: TaskInfo): string | undefined {
  return task.Status.ContainerStatus?.ContainerID || undefined;
}
