/** `flowctl logs`: merged, prefixed, filtered, tailed and followed log files. */
import { ExitCode } from "../src/cli/exit_code.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import {
  fixture,
  FlowctlProcess,
  freePort,
  runFlowctl,
  testPipeline,
  uniqueName,
  waitFor,
} from "./_helpers.ts";

Deno.test("flowctl logs merges component logs in time order, filters, tails and follows", async () => {
  const port = freePort();
  await using p = await testPipeline({
    name: uniqueName("logs"),
    sources: [
      fixture("src", { LINES: 3, TICK_MS: 100, HEALTH_PORT: port }, {
        health: { tcp: { port } },
      }),
    ],
    sinks: [fixture("sink", { LINES: 2 }, { inputs: ["src"] })],
  });
  const env = p.env;
  await using flowctl = new FlowctlProcess(p.args, { env });
  await flowctl.waitForOutput("sink ready");
  await flowctl.waitForOutput("src tick 3");

  const all = await runFlowctl(["logs", p.file], { env });
  assertEquals(all.code, ExitCode.ok, all.stderr);
  const lines = all.stdout.split("\n");
  assertEquals(lines.slice(0, 3), [
    "src  | src line 1",
    "src  | src line 2",
    "src  | src line 3",
  ]);
  assert(
    lines.indexOf("sink | sink line 1") > lines.indexOf("src  | src line 3"),
    "the sink's lines come after its input's",
  );

  const sinkOnly = await runFlowctl(["logs", p.file, "sink", "--tail", "1"], { env });
  assertEquals(sinkOnly.stdout, "sink | sink ready\n");

  const typo = await runFlowctl(["logs", p.file, "snk"], { env });
  assertEquals(typo.code, ExitCode.usage);
  assertStringIncludes(typo.stderr, 'no component "snk" in pipeline');
  assertStringIncludes(typo.stderr, '(did you mean "sink"?)');

  await using follow = new FlowctlProcess(["logs", p.file, "src", "-f", "--tail", "0"], { env });
  await waitFor(
    () => (follow.stdout.match(/src \| src tick \d+/g) ?? []).length >= 3,
    "three new ticks through logs -f",
  );
  follow.kill("SIGINT");
  const followed = await follow.result();
  assertEquals(followed.code, ExitCode.ok);
  assertEquals(followed.stdout.includes("src line 1"), false, "--tail 0 starts at the end");
  flowctl.kill("SIGINT");
  await flowctl.result();
});
