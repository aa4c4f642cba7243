/**
 * Cleans up what a killed flowctl left: component process groups recorded in its state file,
 * and every process that carries the run's mark in its environment (which also finds a
 * component spawned just before flowctl was killed, before its pid reached the state file, and
 * daemons that left their group). A recorded pid is only signalled when it is provably the one
 * recorded (same start time), or when the recorded leader is gone and its group still has
 * members (the kernel does not reuse a pid while it names a live process group); a marked
 * process is provably ours, as the mark holds the run's unique id.
 */
import { DEFAULT_STOP_GRACE_MS, type Pipeline } from "../config/mod.ts";
import { delay } from "../delay.ts";
import {
  groupMembers,
  isAlive,
  readProcStat,
  scanProcesses,
  signalGroup,
  signalProcess,
} from "../proc/process_group.ts";
import { removeRunState, type RunState } from "../state/state_file.ts";

export interface Removed {
  component: string;
  pids: number[];
}

/** What is left of one component: its recorded group, if provably ours, and marked processes. */
interface Leftover {
  component: string;
  pgid: number | undefined;
  marked: number[];
}

/**
 * Stops the recorded process groups and marked processes of a dead run (SIGTERM, each
 * component's grace period from `pipeline`, SIGKILL) and forgets the state.
 */
export async function stopLeftoverProcesses(
  state: RunState,
  pipeline: Pipeline,
): Promise<Removed[]> {
  const graceMs = (id: string) =>
    pipeline.components.find((c) => c.id === id)?.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
  const leftovers = new Map<string, Leftover>();
  const leftover = (component: string) => {
    let found = leftovers.get(component);
    if (!found) leftovers.set(component, found = { component, pgid: undefined, marked: [] });
    return found;
  };
  for (const component of state.components) {
    if (component.pid === undefined) continue;
    const leader = readProcStat(component.pid);
    const ours = leader
      ? leader.startTime === component.pidStartTime
      : groupMembers(component.pid).length > 0;
    if (ours) leftover(component.id).pgid = component.pid;
  }
  const prefix = `${state.runId}:`;
  for (const [mark, pids] of scanProcesses(prefix, new Set()).marked) {
    leftover(mark.slice(prefix.length)).marked.push(...pids);
  }
  const removed = [...leftovers.values()].map((l) => ({
    component: l.component,
    pids: [...new Set([...(l.pgid === undefined ? [] : groupMembers(l.pgid)), ...l.marked])],
  }));
  await Promise.all([...leftovers.values()].map(async (l) => {
    const alive = () =>
      (l.pgid !== undefined && groupMembers(l.pgid).length > 0) || l.marked.some(isAlive);
    const signal = (signal: Deno.Signal) => {
      if (l.pgid !== undefined) signalGroup(l.pgid, signal);
      for (const pid of l.marked) signalProcess(pid, signal);
    };
    signal("SIGTERM");
    const graceOver = Date.now() + graceMs(l.component);
    while (alive() && Date.now() < graceOver) await delay(20);
    const killDeadline = Date.now() + 5_000;
    while (alive() && Date.now() < killDeadline) {
      signal("SIGKILL");
      await delay(20);
    }
  }));
  await removeRunState(state.pipeline);
  return removed.filter((r) => r.pids.length > 0);
}
