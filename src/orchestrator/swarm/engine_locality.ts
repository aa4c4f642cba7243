/**
 * Where flowctl runs relative to the swarm manager it drives: on the manager's own machine (a
 * unix socket, or tcp to one of this machine's addresses), or elsewhere (tcp to another host,
 * ssh). Only on the manager's machine are the manager's tasks local: probed at 127.0.0.1 and
 * on docker_gwbridge, exec'd into, killed at once.
 */
import type { EngineEndpoint } from "../../docker/engine_endpoint.ts";

/** Whether the engine at `endpoint` runs on this machine. */
export function engineIsLocal(endpoint: EngineEndpoint): boolean {
  if (endpoint.kind === "unix") return true;
  if (endpoint.kind === "ssh") return false;
  const host = endpoint.authority.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
  return isOwnAddress(host);
}

/** Whether `host` (an address or `localhost`) is one of this machine's own addresses. */
export function isOwnAddress(host: string): boolean {
  if (host === "localhost" || isLoopback(host)) return true;
  return Deno.networkInterfaces().some((i) => i.address === host);
}

export function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1";
}

/**
 * The address of this machine that the engine's host sees flowctl come from: the local end of a
 * TCP connection to it (the engine's tcp port, or ssh's). Undefined for a unix socket or when
 * nothing answers.
 */
export async function ownAddressToward(endpoint: EngineEndpoint): Promise<string | undefined> {
  if (endpoint.kind === "unix") return undefined;
  const [hostname, port] = endpoint.kind === "tcp"
    ? [
      endpoint.authority.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1"),
      Number(/:(\d+)$/.exec(endpoint.authority)?.[1] ?? 2375),
    ]
    : [endpoint.hostname, Number(endpoint.port ?? 22)];
  try {
    const conn = await Deno.connect({ hostname, port, signal: AbortSignal.timeout(5_000) });
    const local = conn.localAddr;
    conn.close();
    return local.transport === "tcp" ? local.hostname : undefined;
  } catch {
    return undefined;
  }
}
