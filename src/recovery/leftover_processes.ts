/**
 * Cleans up what a killed flowctl left: component process groups recorded in its state file,
 * and every process that carries the run's mark in its environment (which also finds a
 * component spawned just before flowctl was killed, before its pid reached the state file, and
 * daemons that left their group).
 *
 * A state file is not trusted (SECURITY.md): a pid in it is signalled only when it provably
 * names the process flowctl started, that is when all of these hold: the same start time as
 * recorded (so a reused pid is not it), the run's mark `FLOWCTL_PROCESS_MARK=<run id>:<component>`
 * in /proc/<pid>/environ (so an unrelated process with a matching start time, after a reboot,
 * is not it), and the same owner as flowctl. Anything else is reported as already gone. A
 * marked process of flowctl's own user is provably ours: the mark holds the run's unique id.
 */
import { DEFAULT_STOP_GRACE_MS, type Pipeline } from "../config/mod.ts";
import { delay } from "../delay.ts";
import {
  groupMembers,
  isAlive,
  readProcessMark,
  readProcStat,
  scanProcesses,
  signalGroup,
  signalProcess,
} from "../proc/process_group.ts";
import { removeRunState, type RunState } from "../state/state_file.ts";

export interface Removed {
  component: string;
  pids: number[];
  /** The recorded pid, when it no longer names the component's process (left alone). */
  alreadyGone?: number;
}

/** Whether `pid` is the process a run started: start time, the run's mark and owner all match. */
export function isProvablyOurs(
  pid: number,
  startTime: number | undefined,
  mark: string,
): boolean {
  const stat = readProcStat(pid);
  if (!stat || startTime === undefined || stat.startTime !== startTime) return false;
  return readProcessMark(pid) === mark && ownedByUs(pid);
}

/** Whether /proc/<pid> belongs to flowctl's user. */
function ownedByUs(pid: number): boolean {
  try {
    return Deno.statSync(`/proc/${pid}`).uid === Deno.uid();
  } catch {
    return false;
  }
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
  const prefix = `${state.runId}:`;
  const gone: Removed[] = [];
  for (const component of state.components) {
    if (component.pid === undefined) continue;
    const mark = `${prefix}${component.id}`;
    if (isProvablyOurs(component.pid, component.pidStartTime, mark)) {
      leftover(component.id).pgid = component.pid;
    } else if (isAlive(component.pid)) {
      gone.push({ component: component.id, pids: [], alreadyGone: component.pid });
    }
  }
  // A group whose leader is gone is found by its members' marks.
  for (const [mark, pids] of scanProcesses(prefix, new Set()).marked) {
    leftover(mark.slice(prefix.length)).marked.push(...pids.filter(ownedByUs));
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
  return [...removed.filter((r) => r.pids.length > 0), ...gone];
}
