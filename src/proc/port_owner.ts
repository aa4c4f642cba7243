/**
 * Who listens on a local TCP port (Linux /proc): so a health probe that passes can be told apart
 * from one answered by another program holding the component's port.
 */
import { holdsSocket, readProcessTable, rootOf } from "./process_tree.ts";
import { parseTcpTable } from "./tcp_sockets.ts";

/** The kernel's TCP state number of a listening socket, as /proc/net/tcp writes it. */
const LISTEN = "0A";

/** Whether the listener on a port belongs to a process tree. */
export type PortOwner =
  | { kind: "own" }
  /** Another process listens; `pid` and `name` when flowctl may read it. */
  | { kind: "other"; pid?: number; name?: string }
  /** No listener in this network namespace, or no /proc: nothing can be said. */
  | { kind: "unknown" };

/**
 * Tells whether the process tree of `rootPid` holds the socket listening on TCP `port` (any local
 * address), in the network namespace of this process.
 */
export async function portOwner(port: number, rootPid: number): Promise<PortOwner> {
  const inodes: number[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    try {
      for (const row of parseTcpTable(await Deno.readTextFile(table))) {
        if (row.state === LISTEN && row.local.port === port && row.inode !== 0) {
          inodes.push(row.inode);
        }
      }
    } catch {
      // no such table (no IPv6), or no /proc
    }
  }
  if (inodes.length === 0) return { kind: "unknown" };
  const holds = async (pid: number) => {
    for (const inode of inodes) if (await holdsSocket(pid, inode)) return true;
    return false;
  };
  // Most components listen in their root process: then no process table is read (a table is
  // every process's stat, which made 50 components' startup probes twice as slow).
  if (await holds(rootPid)) return { kind: "own" };
  const processes = await readProcessTable();
  const roots = new Set([rootPid]);
  // The component's own tree first: the common case costs only its processes.
  const others: number[] = [];
  for (const pid of processes.keys()) {
    if (rootOf(pid, processes, roots) === undefined) others.push(pid);
    else if (await holds(pid)) return { kind: "own" };
  }
  for (const pid of others) {
    if (await holds(pid)) {
      const name = await processName(pid);
      return { kind: "other", pid, ...(name ? { name } : {}) };
    }
  }
  return { kind: "other" };
}

async function processName(pid: number): Promise<string | undefined> {
  try {
    return (await Deno.readTextFile(`/proc/${pid}/comm`)).trim() || undefined;
  } catch {
    return undefined;
  }
}
