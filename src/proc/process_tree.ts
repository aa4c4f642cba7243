/** The process tree from /proc (Linux): parents, start times, and who holds a socket. */

/** What /proc/<pid>/stat says about a process's place in the tree. */
export interface ProcessEntry {
  pid: number;
  ppid: number;
  /** Clock ticks since boot; with the pid it names one process, even after the pid is reused. */
  startTime: number;
}

/** Reads /proc/<pid>/stat, or undefined when the process is gone. */
export async function readProcessEntry(pid: number): Promise<ProcessEntry | undefined> {
  try {
    return parseStat(pid, await Deno.readTextFile(`/proc/${pid}/stat`));
  } catch {
    return undefined;
  }
}

/** Every live process, by pid. */
export async function readProcessTable(): Promise<Map<number, ProcessEntry>> {
  const table = new Map<number, ProcessEntry>();
  const reads: Promise<void>[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid)) continue;
    reads.push(readProcessEntry(pid).then((e) => void (e && table.set(pid, e))));
  }
  await Promise.all(reads);
  return table;
}

/** The first of `roots` that is `pid` or one of its ancestors, or undefined. */
export function rootOf(
  pid: number,
  table: ReadonlyMap<number, ProcessEntry>,
  roots: ReadonlySet<number>,
): number | undefined {
  const seen = new Set<number>();
  for (let current: number | undefined = pid; current && !seen.has(current);) {
    if (roots.has(current)) return current;
    seen.add(current);
    current = table.get(current)?.ppid;
  }
  return undefined;
}

/**
 * Whether process `pid` has a file descriptor open on socket `inode`. Synchronous: /proc is made
 * from the kernel's memory, so no read waits on a disk, and each asynchronous call cost a trip
 * through Deno's thread pool (a startup probe reads every descriptor of its component).
 */
export function holdsSocket(pid: number, inode: number): boolean {
  const target = `socket:[${inode}]`;
  try {
    for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
      try {
        if (Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`) === target) return true;
      } catch {
        // closed while we looked
      }
    }
  } catch {
    // gone, or not ours to read
  }
  return false;
}

function parseStat(pid: number, text: string): ProcessEntry | undefined {
  // The command name (field 2) may hold spaces and ")"; the fields resume after the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const ppid = Number(fields[1]);
  const startTime = Number(fields[19]);
  return Number.isInteger(ppid) && Number.isFinite(startTime)
    ? { pid, ppid, startTime }
    : undefined;
}
