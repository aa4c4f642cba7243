/** What `flowctl run` says while it waits and when it has to kill (issue 13, item 17). */
import { assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import {
  FIXTURE_COMMAND,
  FlowctlProcess,
  freePort,
  pipelineYaml,
  runArgs,
  writeTemp,
} from "./_helpers.ts";

Deno.test("flowctl run says what it is waiting for while a health check has not passed yet", async () => {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "flowctl-feedback-" });
  const file = await writeTemp(
    "pipeline.yaml",
    pipelineYaml(
      "feedback-wait",
      `  sources:\n    - id: slow\n      command: ${FIXTURE_COMMAND}\n` +
        `      env: { HEALTH_PORT: "${port}", READY_AFTER_MS: "5600" }\n` +
        `      health: { http: { path: /health, port: ${port} }, start_period: 30s }\n`,
    ),
    dir,
  );
  const flowctl = new FlowctlProcess(runArgs(file, `${dir}/logs`));
  await flowctl.waitForOutput("Pipeline started successfully", 30_000);
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, 0, result.stderr);
  assertMatch(
    result.stdout,
    /Waiting for component slow to pass its health check \(5s, last probe: .+\)\n(.*\n)*Component slow health check passed/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("flowctl run says a component was killed when it outlived its grace period", async () => {
  const dir = await Deno.makeTempDir({ prefix: "flowctl-feedback-" });
  const file = await writeTemp(
    "pipeline.yaml",
    pipelineYaml(
      "feedback-kill",
      `  sources:\n    - id: stubborn\n      command: ${FIXTURE_COMMAND}\n` +
        `      env: { IGNORE_SIGTERM: "1" }\n      stop_grace_period: 300ms\n` +
        `    - id: polite\n      command: ${FIXTURE_COMMAND}\n`,
    ),
    dir,
  );
  const flowctl = new FlowctlProcess(runArgs(file, `${dir}/logs`));
  await flowctl.waitForOutput("stubborn ready");
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, 0, result.stderr);
  assertStringIncludes(
    result.stdout,
    "Component stubborn was killed (it did not stop within its grace period of 300ms",
  );
  assertStringIncludes(result.stdout, "Component polite stopped");
  await Deno.remove(dir, { recursive: true });
});
