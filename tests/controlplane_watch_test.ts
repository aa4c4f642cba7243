/**
 * What flowctl does about its control plane process beyond restarting it when it dies: a
 * connection that reached flowctl before the process listened moves to the process (flowctl
 * carries no component's bytes for long), and a process that stops answering is killed and
 * restarted like a crashed one, on its port, with every registration; a busy one is left alone.
 */
import { ExitCode } from "../src/cli/exit_code.ts";
import { PING_DEADLINE_MS, PING_INTERVAL_MS } from "../src/controlplane/liveness_watch.ts";
import { assert, assertEquals } from "./assert.ts";
import {
  FlowctlProcess,
  freePort,
  isAlive,
  ROOT,
  runFlowctl,
  testPipeline,
  uniqueName,
  waitFor,
} from "./_helpers.ts";
import {
  assertHeartbeatsGoOn,
  closingComponents,
  connectionsOn,
  controlPlanePid,
  LISTEN,
  registeredRun,
  registrations,
  tcpSocketsOf,
} from "./_control_plane.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const SLEEPER = ["sleep", "600"];

/** The control plane process flowctl (`parent`) started, as soon as it exists. */
async function controlPlaneChild(parent: number): Promise<number> {
  let found: number | undefined;
  await waitFor(() => {
    for (const entry of Deno.readDirSync("/proc")) {
      const pid = Number(entry.name);
      if (!Number.isInteger(pid)) continue;
      try {
        const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
        if (ppid === parent && cmdline.includes("__control-plane")) found = pid;
      } catch {
        // gone while we looked
      }
    }
    return found !== undefined;
  }, `the control plane process of flowctl ${parent}`);
  return found!;
}

/** ListComponents `count` times, 150 ms apart, on one stock grpc-js channel, in the background. */
function longLivedClient(endpoint: string, count: number): Deno.ChildProcess {
  const call = { service: "v1", method: "ListComponents", request: { include_unhealthy: true } };
  const steps = [call, ...Array.from({ length: count - 1 }, () => [{ sleep: 150 }, call]).flat()];
  return new Deno.Command("node", {
    args: [`${ROOT}tests/interop/client.cjs`, endpoint, JSON.stringify(steps)],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test("control plane watch: a grpc-js channel opened before the control plane process listens moves to it, and flowctl holds no connection for it", async () => {
  await using p = await testPipeline({
    name: uniqueName("cpr"),
    sources: [{ id: "a", command: SLEEPER }],
  });
  const port = freePort();
  await using flowctl = new FlowctlProcess(
    ["run", p.file, "--log-dir", p.logDir, "--control-plane-port", String(port)],
    { env: p.env },
  );
  // Stopped before it listens, the process keeps the window open in which flowctl holds the port.
  const child = await controlPlaneChild(flowctl.child.pid);
  Deno.kill(child, "SIGSTOP");
  const listens = (await tcpSocketsOf(child)).some((r) =>
    r.state === LISTEN && r.local.port === port
  );
  assert(!listens, "the control plane process was stopped before it listened");
  const client = longLivedClient(`127.0.0.1:${port}`, 60);
  try {
    // flowctl took the channel's connection: it holds the accepted end, the client the other.
    let clientPorts: number[] = [];
    await waitFor(async () => {
      const held = await connectionsOn(flowctl.child.pid, port);
      const mine = await connectionsOn(client.pid, port);
      clientPorts = mine.map((row) => row.local.port);
      return held.some((row) => row.local.port === port && clientPorts.includes(row.remote.port));
    }, "flowctl holding the client's connection");
    Deno.kill(child, "SIGCONT");
    // Once the process listens, flowctl hands the connection over and lets go of it: the same
    // channel goes on straight to the process while flowctl holds nothing on the port.
    await waitFor(async () => {
      if ((await connectionsOn(flowctl.child.pid, port)).length > 0) return false;
      const mine = (await connectionsOn(client.pid, port)).map((row) => row.local.port);
      const served = await connectionsOn(child, port);
      return served.some((row) => row.local.port === port && mine.includes(row.remote.port));
    }, "the client's channel served by the control plane process, with no connection in flowctl");
  } finally {
    try {
      Deno.kill(child, "SIGCONT");
    } catch { /* gone */ }
  }
  const { code, stdout, stderr } = await client.output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  const results: Json[] = JSON.parse(new TextDecoder().decode(stdout));
  assertEquals(results.length, 60);
  const failed = results.filter((r) => !r.ok);
  assertEquals(failed, [], "every call on the channel was answered");
  flowctl.kill("SIGINT");
  assertEquals((await flowctl.result()).code, ExitCode.ok);
});

Deno.test("control plane watch: a control plane process that stops answering (SIGSTOP) is killed and restarted on its port with every registration", async () => {
  await using p = await testPipeline({
    name: uniqueName("cph"),
    sources: closingComponents(2, { BURST: "1", PAUSE_MS: "1000" }),
  });
  const { flowctl: run, endpoint, before, pid, logsBefore } = await registeredRun(p);
  await using flowctl = run;
  const stoppedAt = Date.now();
  Deno.kill(pid, "SIGSTOP");
  // The deadline, the tick that notices, and a restart (a fresh Deno loading the gRPC stack).
  const restartMs = 10_000;
  await flowctl.waitForOutput(
    `Control plane process (pid ${pid}) stopped answering`,
    PING_DEADLINE_MS + PING_INTERVAL_MS + restartMs,
  );
  const after = Date.now() - stoppedAt;
  assert(after >= PING_DEADLINE_MS, `killed only after the deadline (${after} ms)`);
  assert(!isAlive(pid), `the stopped process ${pid} is gone`);
  const notice = flowctl.stdout.split("\n").find((l) => l.includes("stopped answering")) ?? "";
  assert(notice.includes(`restarted it on port ${endpoint.split(":").at(-1)}`), notice);
  assert(notice.includes("2 registration(s) kept"), notice);
  assertEquals(await registrations(endpoint, 2), before);
  const status = await runFlowctl(["status", p.file, "--output", "json"], { env: p.env });
  assertEquals(status.code, ExitCode.ok, status.stderr);
  const components: Json[] = JSON.parse(status.stdout).pipelines[0].components;
  assertEquals(components.map((c) => [c.id, c.registered]), [["comp-0", true], ["comp-1", true]]);
  const next = controlPlanePid(p);
  assert(next !== undefined && next !== pid && isAlive(next), "a new process serves");
  // Components heartbeat on and keep their records. The call the hang held fails; one more may
  // if the call's own 5 s deadline ended it before the kill and the next one reached the
  // stopped process too.
  await assertHeartbeatsGoOn(p, logsBefore, 2);
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, ExitCode.ok, result.stderr);
});

Deno.test("control plane watch: a control plane process busy with 50 grpc-js clients heartbeating back to back is not taken for hung", async () => {
  await using p = await testPipeline({
    name: uniqueName("cpl"),
    // One declared component per load client (bench-0 …), as bench/controlplane.ts runs it.
    sources: Array.from({ length: 50 }, (_, i) => ({ id: `bench-${i}`, command: SLEEPER })),
  });
  await using flowctl = new FlowctlProcess([...p.args, "--open-control-plane"], { env: p.env });
  await flowctl.waitForOutput("Pipeline started successfully", 30_000);
  const pid = controlPlanePid(p);
  assert(pid !== undefined, "the state file names the control plane's pid");
  const endpoint = `127.0.0.1:${
    JSON.parse(
      await Deno.readTextFile(`${p.env.FLOWCTL_STATE_DIR}/${p.name}.json`),
    ).controlPlane.port
  }`;
  const load = await new Deno.Command("node", {
    args: [
      `${ROOT}bench/controlplane_load.cjs`,
      endpoint,
      "50",
      String(PING_DEADLINE_MS + 3 * PING_INTERVAL_MS),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(load.code, 0, new TextDecoder().decode(load.stderr));
  assertEquals(flowctl.stdout.includes("stopped answering"), false, flowctl.stdout);
  assertEquals(controlPlanePid(p), pid);
  flowctl.kill("SIGINT");
  assertEquals((await flowctl.result()).code, ExitCode.ok);
});
