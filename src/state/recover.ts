/**
 * Cleans up what a killed flowctl left: component process groups recorded in its state file.
 * A pid is only signalled when it is provably the one recorded (same start time), or when the
 * recorded leader is gone and its group still has members (the kernel does not reuse a pid
 * while it names a live process group).
 */
import { DEFAULT_STOP_GRACE_MS, type Pipeline } from "../config/mod.ts";
import { delay } from "../delay.ts";
import { groupMembers, readProcStat, signalGroup } from "../orchestrator/process_group.ts";
import { removeRunState, type RunState } from "./state_file.ts";

export interface Removed {
  component: string;
  pids: number[];
}

/**
 * Stops the recorded process groups of a dead run (SIGTERM, each component's grace period from
 * `pipeline`, SIGKILL) and forgets the state.
 */
export async function stopLeftoverProcesses(
  state: RunState,
  pipeline: Pipeline,
): Promise<Removed[]> {
  const graceMs = (id: string) =>
    pipeline.components.find((c) => c.id === id)?.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
  const targets: { component: string; pgid: number }[] = [];
  for (const component of state.components) {
    if (component.pid === undefined) continue;
    const leader = readProcStat(component.pid);
    const ours = leader
      ? leader.startTime === component.pidStartTime
      : groupMembers(component.pid).length > 0;
    if (ours) targets.push({ component: component.id, pgid: component.pid });
  }
  const removed = targets.map(({ component, pgid }) => ({ component, pids: groupMembers(pgid) }));
  await Promise.all(targets.map(async ({ component, pgid }) => {
    signalGroup(pgid, "SIGTERM");
    const graceOver = Date.now() + graceMs(component);
    while (groupMembers(pgid).length > 0 && Date.now() < graceOver) await delay(20);
    const killDeadline = Date.now() + 5_000;
    while (groupMembers(pgid).length > 0 && Date.now() < killDeadline) {
      signalGroup(pgid, "SIGKILL");
      await delay(20);
    }
  }));
  await removeRunState(state.pipeline);
  return removed.filter((r) => r.pids.length > 0);
}
