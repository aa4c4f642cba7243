/**
 * Who listens on a local TCP port (Linux /proc): so a health probe that passes can be told apart
 * from one answered by another program holding the component's port.
 */
import { delay } from "../delay.ts";
import { holdsSocket, readProcessTable, rootOf } from "./process_tree.ts";

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
      // Synchronous: the kernel writes the table from memory (see holdsSocket).
      inodes.push(...listeningInodes(Deno.readTextFileSync(table), port));
    } catch {
      // no such table (no IPv6), or no /proc
    }
  }
  if (inodes.length === 0) return { kind: "unknown" };
  const holds = (pid: number) => inodes.some((inode) => holdsSocket(pid, inode));
  // Most components listen in their root process: then no process table is read (a table is
  // every process's stat, which made 50 components' startup probes twice as slow).
  if (holds(rootPid)) return { kind: "own" };
  const processes = await readProcessTable();
  const roots = new Set([rootPid]);
  // The component's own tree first: the common case costs only its processes.
  const others: number[] = [];
  for (const pid of processes.keys()) {
    if (rootOf(pid, processes, roots) === undefined) others.push(pid);
    else if (holds(pid)) return { kind: "own" };
  }
  for (const [i, pid] of others.entries()) {
    // This may read every process of the machine: the run's timers and I/O go on meanwhile.
    if (i % 64 === 63) await delay(0);
    if (holds(pid)) {
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

/**
 * The inodes of the sockets listening on TCP `port` (any local address) in the text of
 * /proc/net/tcp or tcp6. Only a row's state and local port are read: decoding every row's
 * addresses (parseTcpTable) took 15 ms on a table of 550 rows, once per startup probe that
 * passed, on the way from one level of components to the next.
 */
export function listeningInodes(text: string, port: number): number[] {
  const localPort = `:${port.toString(16).toUpperCase().padStart(4, "0")} `;
  const inodes: number[] = [];
  for (const line of text.split("\n")) {
    if (!line.includes(localPort)) continue;
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    const fields = line.trim().split(/\s+/);
    if (fields[3] !== LISTEN || !`${fields[1]} `.endsWith(localPort)) continue;
    const inode = Number(fields[9]);
    if (Number.isInteger(inode) && inode !== 0) inodes.push(inode);
  }
  return inodes;
}
