/**
 * The labels flowctl puts on every engine object it creates, so it can find its own: every
 * `dev.flowctl.*` label is named here.
 */
import { currentOwner, type RunOwner } from "../proc/owner.ts";

export const LABEL_PIPELINE = "dev.flowctl.pipeline";
export const LABEL_COMPONENT = "dev.flowctl.component";
export const LABEL_RUN = "dev.flowctl.run-id";

/** The labels of every object of one run of `pipeline`. */
export function runLabels(pipeline: string, runId: string): Record<string, string> {
  return { [LABEL_PIPELINE]: pipeline, [LABEL_RUN]: runId };
}

/** Replica number (1..N) of a component's container when it has several. */
export const LABEL_REPLICA = "dev.flowctl.replica";

/** The stack namespace `docker stack` uses; swarm runs set it so `docker stack ls` lists them. */
export const LABEL_STACK = "com.docker.stack.namespace";

/** Labels that name the flowctl owning a container or network. */
export const LABEL_OWNER_PID = "dev.flowctl.owner-pid";
export const LABEL_OWNER_START = "dev.flowctl.owner-start-time";
export const LABEL_OWNER_BOOT = "dev.flowctl.owner-boot-id";

/** The owner labels of this flowctl. */
export function ownerLabels(): Record<string, string> {
  const owner = currentOwner();
  return {
    [LABEL_OWNER_PID]: String(owner.pid),
    ...(owner.startTime !== undefined ? { [LABEL_OWNER_START]: String(owner.startTime) } : {}),
    ...(owner.bootId !== undefined ? { [LABEL_OWNER_BOOT]: owner.bootId } : {}),
  };
}

/** The owner named by an object's labels; undefined for objects made before owners were labelled. */
export function ownerFromLabels(
  labels: Record<string, string> | null | undefined,
): RunOwner | undefined {
  const pid = Number(labels?.[LABEL_OWNER_PID]);
  if (!labels || !Number.isInteger(pid) || pid <= 0) return undefined;
  const startTime = Number(labels[LABEL_OWNER_START]);
  const boot = labels[LABEL_OWNER_BOOT];
  return {
    pid,
    ...(Number.isInteger(startTime) ? { startTime } : {}),
    ...(boot ? { bootId: boot } : {}),
  };
}
