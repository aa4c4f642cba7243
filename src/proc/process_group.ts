/**
 * Linux process inspection through /proc: members of a process group, start times, and the
 * processes that carry a component's marker or hold its output pipes (those that escaped its
 * group with `setsid`).
 */

/** Name of the variable flowctl adds to every process component: `<run id>:<component id>`. */
export const PROCESS_MARK_VAR = "FLOWCTL_PROCESS_MARK";

/** Fields of /proc/<pid>/stat that flowctl uses. */
export interface ProcStat {
  pid: number;
  state: string;
  pgrp: number;
  /** Start time in clock ticks since boot; with the pid it identifies a process uniquely. */
  startTime: number;
}

/** Reads /proc/<pid>/stat, or undefined when the process is gone. */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses; fields resume after the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return {
    pid,
    state: fields[0] ?? "?",
    pgrp: Number(fields[2]),
    startTime: Number(fields[19]),
  };
}

/** Whether `pid` names a live (not zombie) process. */
export function isAlive(pid: number): boolean {
  const state = readProcStat(pid)?.state;
  return state !== undefined && state !== "Z" && state !== "X";
}

/** Pids of the live (not zombie) processes in process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const pid of allPids()) {
    const stat = readProcStat(pid);
    if (stat && stat.pgrp === pgid && stat.state !== "Z" && stat.state !== "X") members.push(pid);
  }
  return members;
}

/**
 * Whether group `pgid` may still have live members. Signal 0 answers in O(1) for a group that is
 * gone; only when it reaches something (maybe zombies nobody reaped yet) is /proc consulted.
 */
export function groupMayBeAlive(pgid: number): boolean {
  try {
    Deno.kill(-pgid, "SIGCONT");
  } catch {
    return false;
  }
  return true;
}

/** Sends `signal` to every process of group `pgid`; a group that is gone is not an error. */
export function signalGroup(pgid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pgid, signal);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound) && !isNoSuchProcess(error)) throw error;
  }
}

/** Sends `signal` to one process; one that is gone (or not ours) is not an error. */
export function signalProcess(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(pid, signal);
  } catch {
    // gone, or not ours to signal
  }
}

/** The value of PROCESS_MARK_VAR in the environment of `pid`, if it has one. */
export function readProcessMark(pid: number): string | undefined {
  let environ: string;
  try {
    environ = Deno.readTextFileSync(`/proc/${pid}/environ`);
  } catch {
    return undefined;
  }
  const key = `${PROCESS_MARK_VAR}=`;
  const entry = environ.split("\0").find((variable) => variable.startsWith(key));
  return entry?.slice(key.length);
}

/** What one walk over /proc found: marked processes by mark, and holders of the pipes asked for. */
export interface ProcessScan {
  marked: Map<string, number[]>;
  pipeHolders: Map<string, number[]>;
}

/**
 * One walk over /proc: live processes whose environment carries a mark starting with
 * `markPrefix` (grouped by mark; no environment is read without a prefix), and processes other than flowctl holding any of `pipes`
 * (grouped by pipe), leaving out the pids in `options.skip`. Only our own user's processes are
 * readable, which are the only ones a component can have started.
 */
export function scanProcesses(
  markPrefix: string | undefined,
  pipes: ReadonlySet<string>,
  options: { skip?: ReadonlySet<number> } = {},
): ProcessScan {
  const scan: ProcessScan = { marked: new Map(), pipeHolders: new Map() };
  for (const pid of allPids()) {
    if (options.skip?.has(pid)) continue;
    const mark = markPrefix === undefined ? undefined : readProcessMark(pid);
    if (mark !== undefined && mark.startsWith(markPrefix ?? "") && isAlive(pid)) {
      addTo(scan.marked, mark, pid);
    }
    if (pipes.size > 0) {
      for (const pipe of pipesHeldBy(pid, pipes)) addTo(scan.pipeHolders, pipe, pid);
    }
  }
  return scan;
}

function pipesHeldBy(pid: number, pipes: ReadonlySet<string>): Set<string> {
  const held = new Set<string>();
  try {
    for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
      try {
        const target = Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`);
        if (pipes.has(target)) held.add(target);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    // gone, or not ours
  }
  return held;
}

function addTo(map: Map<string, number[]>, key: string, pid: number): void {
  const pids = map.get(key);
  if (pids) pids.push(pid);
  else map.set(key, [pid]);
}

/** The pipe that `pid` has as file descriptor `fd` ("pipe:[1234]"), if it is one. */
export function pipeOf(pid: number, fd: number): string | undefined {
  try {
    const target = Deno.readLinkSync(`/proc/${pid}/fd/${fd}`);
    return target.startsWith("pipe:") ? target : undefined;
  } catch {
    return undefined;
  }
}

function* allPids(): Generator<number> {
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (Number.isInteger(pid) && pid !== Deno.pid) yield pid;
  }
}

function isNoSuchProcess(error: unknown): boolean {
  return error instanceof Error && /ESRCH|No such process/i.test(error.message);
}
