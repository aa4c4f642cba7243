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
