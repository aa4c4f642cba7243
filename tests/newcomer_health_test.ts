/** Issue 25's health findings: startup probes keep the file's cadence; probes that pass are the component's own. */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { ExitCode } from "../src/cli/exit_code.ts";
import {
  fixture,
  FlowctlProcess,
  freePort,
  readEvents,
  runFlowctl,
  testPipeline,
  uniqueName,
  waitFor,
} from "./_helpers.ts";

Deno.test("flowctl run probes a health check that never passes at its interval, not in a busy loop", async () => {
  const port = freePort();
  await using p = await testPipeline(({ events }) => ({
    name: uniqueName("cadence"),
    sources: [
      fixture("web", {
        HEALTH_PORT: port,
        EVENTS_FILE: events,
        LOG_REQUESTS: 1,
        READY_AFTER_MS: 600_000,
      }, {
        health: {
          http: { path: "/health", port },
          interval: "500ms",
          start_period: "3s",
        },
      }),
    ],
  }));
  const result = await runFlowctl(p.args, { env: p.env });
  assertEquals(result.code, ExitCode.failure, result.stderr);
  assertStringIncludes(result.stderr + result.stdout, "web");
  const requests = readEvents(p.events).filter(([, kind]) => kind === "request");
  // 3 s at a 500 ms cadence: ~9 quick probes while backing off, then ~5; never ~150 (20 ms).
  assert(requests.length >= 4, `${requests.length} probes`);
  assert(requests.length <= 20, `${requests.length} probes in 3 s with interval 500ms`);
});

Deno.test("flowctl run refuses a health port another program holds, before starting anything", async () => {
  await using holder = listenAnywhere();
  const port = holder.port;
  await using p = await testPipeline(({ events }) => ({
    name: uniqueName("heldport"),
    sources: [fixture("web", { EVENTS_FILE: events }, { health: { tcp: { port } } })],
  }));
  const result = await runFlowctl(p.args, { env: p.env });
  assertEquals(result.code, ExitCode.failure, result.stderr);
  assertStringIncludes(
    result.stderr,
    `component "web": health port ${port} on 127.0.0.1 is already in use`,
  );
  assertEquals(readEvents(p.events), [], "nothing was started");
});

Deno.test("flowctl run does not count a probe answered by another program as the component's health", async () => {
  const port = freePort();
  await using p = await testPipeline(({ events }) => ({
    name: uniqueName("notmine"),
    sources: [
      // The component itself never listens: whoever answers on the port is someone else.
      fixture("web", { EVENTS_FILE: events }, {
        health: { tcp: { port }, start_period: "2s" },
      }),
    ],
    sinks: [fixture("sink", { EVENTS_FILE: events }, { inputs: ["web"] })],
  }));
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  await flowctl.waitForOutput("Starting component: web");
  // Taken after the preflight, as a program started meanwhile would.
  await using _holder = listenAnywhere(port);
  // Without the ownership check the pipeline would start; stop it then, so the test fails.
  let exited = false;
  flowctl.child.status.then(() => exited = true);
  await waitFor(
    () => exited || flowctl.stdout.includes("Pipeline started successfully"),
    "flowctl to fail the start or to report it started",
  );
  flowctl.kill("SIGTERM");
  const result = await flowctl.result();
  assertEquals(result.code, ExitCode.failure, result.stdout + result.stderr);
  const output = result.stdout + result.stderr;
  assertStringIncludes(
    output,
    `port ${port} answers, but another program (pid ${Deno.pid}, `,
  );
  assertEquals(output.includes("health check passed"), false, output);
  assertEquals(readEvents(p.events).some(([id]) => id === "sink"), false, "sink never started");
});

/** A TCP listener of this test that accepts and drops connections, closed by `await using`. */
function listenAnywhere(port = 0): AsyncDisposable & { port: number } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const accepting = (async () => {
    try {
      for await (const connection of listener) connection.close();
    } catch {
      // closed
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
    },
  };
}
