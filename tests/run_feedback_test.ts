/** What `flowctl run` says while it waits and when it has to kill (issue 13, item 17). */
import { ExitCode } from "../src/cli/exit_code.ts";
import { assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { fixture, FlowctlProcess, freePort, testPipeline, uniqueName } from "./_helpers.ts";

Deno.test("flowctl run says what it is waiting for while a health check has not passed yet", async () => {
  const port = freePort();
  await using p = await testPipeline({
    name: uniqueName("feedback-wait"),
    sources: [
      fixture("slow", { HEALTH_PORT: port, READY_AFTER_MS: 5600 }, {
        health: { http: { path: "/health", port }, start_period: "30s" },
      }),
    ],
  });
  await using flowctl = new FlowctlProcess(p.args);
  await flowctl.waitForOutput("Pipeline started successfully", 30_000);
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, ExitCode.ok, result.stderr);
  assertMatch(
    result.stdout,
    /Waiting for component slow to pass its health check \(5s, last probe: .+\)\n(.*\n)*Component slow health check passed/,
  );
});

Deno.test("flowctl run says a component was killed when it outlived its grace period", async () => {
  await using p = await testPipeline({
    name: uniqueName("feedback-kill"),
    sources: [
      fixture("stubborn", { IGNORE_SIGTERM: 1 }, { stop_grace_period: "300ms" }),
      fixture("polite"),
    ],
  });
  await using flowctl = new FlowctlProcess(p.args);
  await flowctl.waitForOutput("stubborn ready");
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, ExitCode.ok, result.stderr);
  assertStringIncludes(
    result.stdout,
    "Component stubborn was killed (it did not stop within its grace period of 300ms",
  );
  assertStringIncludes(result.stdout, "Component polite stopped");
});
