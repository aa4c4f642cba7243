/** Which pipeline component a local TCP peer belongs to, by its process tree (Linux /proc). */
import { findTcpSocketInode, type TcpEndpoint } from "./tcp_sockets.ts";
import { holdsSocket, readProcessTable, rootOf } from "./process_tree.ts";

/** The root process of a running component, as the orchestrator started it. */
export interface ProcessRoot {
  componentId: string;
  pid: number;
  /** When known, a root whose pid now names another process is ignored. */
  startTime?: number;
}

/**
 * The component whose process tree holds the socket at `peer` connected to `server` (this
 * process's end), or undefined when no component's process holds it.
 */
export async function findPeerComponent(
  peer: TcpEndpoint,
  server: TcpEndpoint,
  roots: readonly ProcessRoot[],
): Promise<string | undefined> {
  if (roots.length === 0) return undefined;
  const inode = await findTcpSocketInode(peer, server);
  if (inode === undefined) return undefined;
  const table = await readProcessTable();
  const live = roots.filter((r) =>
    r.startTime === undefined || table.get(r.pid)?.startTime === r.startTime
  );
  const byPid = new Map(live.map((r) => [r.pid, r.componentId]));
  const rootPids = new Set(byPid.keys());
  // Only a component's own processes are searched, so the cost follows the pipeline's size.
  for (const pid of table.keys()) {
    if (pid === Deno.pid) continue;
    const root = rootOf(pid, table, rootPids);
    if (root !== undefined && holdsSocket(pid, inode)) return byPid.get(root);
  }
  return undefined;
}
