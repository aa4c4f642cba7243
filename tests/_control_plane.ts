/**
 * What the control plane process tests share: stock grpc-js clients under Node
 * (tests/interop/), the control plane's pid and address from a run, and the TCP connections a
 * process holds, read from /proc.
 */
import { parseTcpTable, type TcpSocketRow } from "../src/proc/tcp_sockets.ts";
import { assert, assertEquals } from "./assert.ts";
import { FlowctlProcess, isAlive, ROOT, type TestPipeline, waitFor } from "./_helpers.ts";

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

/**
 * `flowctl run` of `p` (two closingComponents, JSON events) once it started: its control plane's
 * address and registrations, the control plane process's pid, and each component's log so far.
 */
export async function registeredRun(p: TestPipeline) {
  const flowctl = new FlowctlProcess([...p.args, "--output", "json"], { env: p.env });
  try {
    const endpoint = await controlPlaneOf(flowctl);
    await flowctl.waitForOutput('"event":"pipeline_started"', 30_000);
    const before = await registrations(endpoint, 2);
    const pid = controlPlanePid(p);
    assert(pid !== undefined && isAlive(pid), "the state file names the control plane's pid");
    const logsBefore = await Promise.all([logOf(p, "comp-0"), logOf(p, "comp-1")]);
    return { flowctl, endpoint, before, pid, logsBefore };
  } catch (error) {
    await flowctl[Symbol.asyncDispose]();
    throw error;
  }
}

/**
 * Waits until both components logged more heartbeats than `logsBefore`, and checks that neither
 * lost its registration and each saw at most `maxFailed` failed calls since.
 */
export async function assertHeartbeatsGoOn(
  p: TestPipeline,
  logsBefore: readonly string[],
  maxFailed: 1 | 2,
): Promise<void> {
  await waitFor(async () => {
    const logs = await Promise.all([logOf(p, "comp-0"), logOf(p, "comp-1")]);
    return logs.every((log, i) => log.length > (logsBefore[i]?.length ?? 0) + 40);
  }, "components heartbeat on");
  const most = maxFailed === 1 ? "at most one failed call" : "at most two failed calls";
  for (const [i, id] of ["comp-0", "comp-1"].entries()) {
    const since = (await logOf(p, id)).slice(logsBefore[i]?.length ?? 0);
    assertEquals(since.includes("registration lost"), false, since);
    const failed = since.split("\n").filter((l) => l.includes("failed"));
    assert(failed.length <= maxFailed, `${id} saw ${most}: ${failed.join("; ")}`);
  }
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
