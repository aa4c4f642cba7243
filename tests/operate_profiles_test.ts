/** `env_file` and `profiles` (`--profile`) with real processes, and their errors as users see them. */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import {
  fixture,
  FlowctlProcess,
  isAlive,
  readEvents,
  recordedPids,
  runFlowctl,
  testPipeline,
  uniqueName,
  waitFor,
} from "./_helpers.ts";

Deno.test("run: env_file values sit below env and above config; --profile adds a component", async () => {
  await using p = await testPipeline(({ events }) => ({
    name: uniqueName("envfile"),
    sources: [
      fixture("src", {
        EVENTS_FILE: events,
        PRINT_ENV: "A,B,C,FROM_CONFIG,FLOWCTL_HEARTBEAT_INTERVAL",
        C: "own",
      }, {
        env_file: ["common.env", "src.env"],
        config: { fromConfig: "config" },
        stop_grace_period: "2s",
      }),
      fixture("tap", { EVENTS_FILE: events }, { profiles: ["debug"], stop_grace_period: "2s" }),
    ],
  }));
  await Deno.writeTextFile(
    `${p.dir}/common.env`,
    "# shared\nA=common\nB='common b'\nFROM_CONFIG=file\nFLOWCTL_HEARTBEAT_INTERVAL=5s\n",
  );
  await Deno.writeTextFile(`${p.dir}/src.env`, 'B="from src.env"\nC=file\n');

  const off = await runFlowctl(["validate", p.file], { env: p.env });
  assertEquals(off.code, 0, off.stderr);
  assertStringIncludes(off.stdout, "1 component in 1 level");

  await using flowctl = new FlowctlProcess([...p.args, "--profile", "debug"], { env: p.env });
  await flowctl.waitForOutput("Pipeline started successfully");
  await flowctl.waitForOutput("FLOWCTL_HEARTBEAT_INTERVAL=");
  for (
    const line of [
      "A=common",
      "B=from src.env",
      "C=own",
      "FROM_CONFIG=file",
      "FLOWCTL_HEARTBEAT_INTERVAL=5s",
    ]
  ) {
    assertStringIncludes(flowctl.stdout, line);
  }
  assertStringIncludes(flowctl.stdout, "Starting component: tap");
  // "started" is flowctl's word; the fixture records itself a moment later.
  await waitFor(() => readEvents(p.events).some(([id]) => id === "tap"), "tap's first event");
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, 0, result.stderr);
  assertEquals(new Set(readEvents(p.events).map(([id]) => id)), new Set(["src", "tap"]));
  for (const pid of recordedPids(p.events)) assert(!isAlive(pid), `pid ${pid} is gone`);
});

Deno.test("run without --profile leaves a profile's component out; needing it is an error naming both", async () => {
  await using p = await testPipeline(({ events }) => ({
    name: uniqueName("profiles"),
    sources: [fixture("tap", { EVENTS_FILE: events }, { profiles: ["debug"] })],
    sinks: [fixture("app", { EVENTS_FILE: events, EXIT_AFTER_MS: 10 }, { inputs: ["tap"] })],
  }));
  const run = await runFlowctl(p.args, { env: p.env });
  assertEquals(run.code, 2, run.stdout);
  assertStringIncludes(
    run.stderr,
    'spec.sinks[0].inputs[0]: component "app" needs "tap", which is only in profile "debug", not enabled: enable it with --profile debug',
  );
  assertEquals(readEvents(p.events), [], "nothing started");

  const on = await runFlowctl([...p.args, "--profile", "debug"], { env: p.env });
  assertEquals(on.code, 0, on.stderr);
  assertStringIncludes(on.stdout, "Pipeline completed successfully");
});

Deno.test("run: a missing env_file is a located configuration error", async () => {
  await using p = await testPipeline({
    name: uniqueName("envfile-missing"),
    sources: [fixture("src", {}, { env_file: "secrets/db.env" })],
  });
  const run = await runFlowctl(p.args, { env: p.env });
  assertEquals(run.code, 2, run.stdout);
  assert(
    /pipeline\.yaml:\d+:\d+: spec\.sources\[0\]\.env_file: cannot read env_file "secrets\/db\.env" \(.*\/secrets\/db\.env\): no such file/
      .test(run.stderr),
    run.stderr,
  );
});
