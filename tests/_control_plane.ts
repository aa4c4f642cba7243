/**
 * What the control plane process tests share: stock grpc-js clients under Node
 * (tests/interop/), the control plane's pid and address from a run, and the TCP connections a
 * process holds, read from /proc.
 */
import { parseTcpTable, type TcpSocketRow } from "../src/proc/tcp_sockets.ts";
import { assertEquals } from "./assert.ts";
import { type FlowctlProcess, ROOT, type TestPipeline, waitFor } from "./_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** Runs a script of tests/interop/ under Node to its end; its stdout is one JSON value. */
export async function node(script: string, args: string[]): Promise<Json> {
  const { code, stdout, stderr } = await new Deno.Command("node", {
    args: [`${ROOT}tests/interop/${script}`, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

/** The reproducer's client pattern: 6 sessions x 50 gRPC calls, then GOAWAY and close. */
export function goawayRound(endpoint: string): Promise<{ ok: number; failed: number }> {
  return node("goaway_client.cjs", [endpoint, "6", "50"]);
}

/** ListComponents through stock grpc-js, or undefined while the control plane does not answer. */
export async function listed(endpoint: string): Promise<Json[] | undefined> {
  const [result] = await node("client.cjs", [
    endpoint,
    JSON.stringify([{
      service: "v1",
      method: "ListComponents",
      request: { include_unhealthy: true },
    }]),
  ]);
  return result.ok ? result.response.components : undefined;
}

/** Component ids and registration times the control plane lists, once it answers. */
export async function registrations(endpoint: string, count: number): Promise<Map<string, string>> {
  let found = new Map<string, string>();
  await waitFor(async () => {
    const components = await listed(endpoint) ?? [];
    found = new Map(components.map((c) => [c.component.id, JSON.stringify(c.registered_at)]));
    return found.size === count;
  }, `${count} registrations listed by the control plane at ${endpoint}`);
  return found;
}

/** The pid of the control plane process, from the run's state file. */
export function controlPlanePid(p: TestPipeline): number | undefined {
  try {
    const state = JSON.parse(
      Deno.readTextFileSync(`${p.env.FLOWCTL_STATE_DIR}/${p.name}.json`),
    );
    return state.controlPlane?.pid;
  } catch {
    return undefined;
  }
}

/** The pids of the pipeline's components, from the run's state file. */
export function componentPids(p: TestPipeline): number[] {
  const state = JSON.parse(Deno.readTextFileSync(`${p.env.FLOWCTL_STATE_DIR}/${p.name}.json`));
  return state.components.map((c: Json) => c.pid).filter((pid: unknown) => pid !== undefined);
}

/** The first JSON event's control plane address. */
export async function controlPlaneOf(flowctl: FlowctlProcess): Promise<string> {
  await flowctl.waitForOutput('"event":"pipeline_starting"');
  return JSON.parse(flowctl.stdout.split("\n")[0] ?? "{}").controlPlane;
}

/** Four stock grpc-js components: register, heartbeat 30 times, close, again. */
export function closingComponents(count: number, env: Record<string, string> = {}) {
  return Array.from({ length: count }, (_, i) => ({
    id: `comp-${i}`,
    command: ["node", `${ROOT}tests/interop/closing_component.cjs`],
    env,
    health: { registered: true },
  }));
}

export async function logOf(p: TestPipeline, id: string): Promise<string> {
  return await Deno.readTextFile(`${p.logDir}/${id}.log`);
}

/** The TCP sockets process `pid` holds (Linux: its fds' inodes in /proc/net/tcp{,6}). */
export async function tcpSocketsOf(pid: number): Promise<TcpSocketRow[]> {
  const inodes = new Set<number>();
  try {
    for await (const fd of Deno.readDir(`/proc/${pid}/fd`)) {
      try {
        const link = await Deno.readLink(`/proc/${pid}/fd/${fd.name}`);
        const match = /^socket:\[(\d+)\]$/.exec(link);
        if (match) inodes.add(Number(match[1]));
      } catch {
        // closed while we looked
      }
    }
  } catch {
    return []; // the process is gone
  }
  const rows: TcpSocketRow[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const row of parseTcpTable(await Deno.readTextFile(table))) {
      if (inodes.has(row.inode)) rows.push(row);
    }
  }
  return rows;
}

/** `01` in /proc/net/tcp: an established connection; `0A`: a listening socket. */
export const ESTABLISHED = "01";
export const LISTEN = "0A";

/** The connections (not listeners) process `pid` holds to or from `port`. */
export async function connectionsOn(pid: number, port: number): Promise<TcpSocketRow[]> {
  return (await tcpSocketsOf(pid)).filter((row) =>
    row.state !== LISTEN && (row.local.port === port || row.remote.port === port)
  );
}
