/** `flowctl logs`: merged, prefixed, filtered, tailed and followed log files. */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import {
  FIXTURE_COMMAND,
  FlowctlProcess,
  freePort,
  MAIN,
  pipelineYaml,
  runArgs,
  runFlowctl,
  waitFor,
  writeTemp,
} from "./_helpers.ts";

Deno.test("flowctl logs merges component logs in time order, filters, tails and follows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "flowctl-logs-" });
  const name = `logs-${crypto.randomUUID().slice(0, 8)}`;
  const port = freePort();
  const file = await writeTemp(
    "pipeline.yaml",
    pipelineYaml(
      name,
      `  sources:\n    - id: src\n      command: ${FIXTURE_COMMAND}\n      env: { LINES: "3", TICK_MS: "100", HEALTH_PORT: "${port}" }\n      health: { tcp: { port: ${port} } }\n` +
        `  sinks:\n    - id: sink\n      inputs: [src]\n      command: ${FIXTURE_COMMAND}\n      env: { LINES: "2" }\n`,
    ),
    dir,
  );
  const env = { FLOWCTL_STATE_DIR: `${dir}/state` };
  const flowctl = new FlowctlProcess(runArgs(file, `${dir}/logs`), { env });
  try {
    await flowctl.waitForOutput("sink ready");
    await flowctl.waitForOutput("src tick 3");

    const all = await runFlowctl(["logs", file], { env });
    assertEquals(all.code, 0, all.stderr);
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

    const sinkOnly = await runFlowctl(["logs", file, "sink", "--tail", "1"], { env });
    assertEquals(sinkOnly.stdout, "sink | sink ready\n");

    const typo = await runFlowctl(["logs", file, "snk"], { env });
    assertEquals(typo.code, 2);
    assertStringIncludes(typo.stderr, 'no component "snk" in pipeline');
    assertStringIncludes(typo.stderr, '(did you mean "sink"?)');

    const follow = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", MAIN, "logs", file, "src", "-f", "--tail", "0"],
      stdout: "piped",
      env: { NO_COLOR: "1", ...env },
    }).spawn();
    let followed = "";
    const reading = (async () => {
      for await (const chunk of follow.stdout) followed += new TextDecoder().decode(chunk);
    })();
    await waitFor(
      () => (followed.match(/src \| src tick \d+/g) ?? []).length >= 3,
      "three new ticks through logs -f",
    );
    follow.kill("SIGINT");
    assertEquals((await follow.status).code, 0);
    await reading;
    assertEquals(followed.includes("src line 1"), false, "--tail 0 starts at the end");
  } finally {
    flowctl.kill("SIGINT");
    await flowctl.result();
  }
});
