/** Nothing is left behind even when flowctl itself is killed with SIGKILL. */
import { ExitCode } from "../src/cli/exit_code.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { buildTestImage, leftovers, SKIP_DOCKER, TEST_IMAGE } from "./_docker.ts";
import {
  containerComponent,
  fixture,
  FlowctlProcess,
  isAlive,
  recordedPids,
  runFlowctl,
  testPipeline,
  type TestPipelineSpec,
  uniqueName,
  waitFor,
} from "./_helpers.ts";

/** A source that ignores SIGTERM and leaves a grandchild, and a sink after it. */
const stubbornAndSink = ({ events }: { events: string }): TestPipelineSpec => ({
  name: uniqueName("rec"),
  sources: [
    fixture("stubborn", { EVENTS_FILE: events, IGNORE_SIGTERM: 1, GRANDCHILD: 1 }, {
      stop_grace_period: "300ms",
    }),
  ],
  sinks: [fixture("sink", { EVENTS_FILE: events }, { inputs: ["stubborn"] })],
});

Deno.test("kill -9 of flowctl, then flowctl down, leaves no process of the run", async () => {
  await using p = await testPipeline(stubbornAndSink);
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  await flowctl.waitForOutput("sink ready");
  await waitFor(() => recordedPids(p.events).length === 3, "three recorded pids");
  flowctl.kill("SIGKILL");
  await flowctl.result();
  const pids = recordedPids(p.events);
  assertEquals(pids.filter(isAlive).length, 3, "the components outlive a killed flowctl");

  const down = await runFlowctl(["down", p.file], { env: p.env });
  assertEquals(down.code, ExitCode.ok, down.stderr);
  assertStringIncludes(down.stdout, "Stopped component stubborn: process group");
  assertStringIncludes(down.stdout, "Stopped component sink: process group");
  assertEquals(pids.filter(isAlive), []);
  const again = await runFlowctl(["down", p.file], { env: p.env });
  assertStringIncludes(again.stdout, `Nothing of pipeline ${p.name} was left to clean up`);
});

Deno.test("flowctl run cleans up after a killed run of the same pipeline before starting", async () => {
  await using p = await testPipeline(stubbornAndSink);
  await using first = new FlowctlProcess(p.args, { env: p.env });
  await first.waitForOutput("sink ready");
  await waitFor(() => recordedPids(p.events).length === 3, "three recorded pids");
  first.kill("SIGKILL");
  await first.result();
  const stale = recordedPids(p.events);

  await using second = new FlowctlProcess(p.args, { env: p.env });
  await second.waitForOutput("Pipeline started successfully");
  assertStringIncludes(second.stdout, "Stopped component stubborn left by an earlier run");
  assertEquals(stale.filter(isAlive), []);
  await second.waitForOutput("sink ready");
  second.kill("SIGINT");
  assertEquals((await second.result()).code, ExitCode.ok);
  assertEquals(recordedPids(p.events).filter(isAlive), []);
});

Deno.test("flowctl down stops a pipeline that is still running", async () => {
  await using p = await testPipeline(({ events }) => ({
    name: uniqueName("rec"),
    sources: [fixture("src", { EVENTS_FILE: events })],
  }));
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  await flowctl.waitForOutput("src ready");
  const down = await runFlowctl(["down", p.file], { env: p.env });
  assertEquals(down.code, ExitCode.ok, down.stderr);
  assertStringIncludes(down.stdout, `Pipeline ${p.name} stopped`);
  const result = await flowctl.result();
  assertEquals(result.code, ExitCode.ok);
  assertStringIncludes(result.stdout, "Pipeline stopped successfully");
  assert(recordedPids(p.events).every((pid) => !isAlive(pid)));
});

Deno.test({
  name: "kill -9 of flowctl in container mode, then flowctl down, leaves no container or network",
  ignore: SKIP_DOCKER,
  async fn() {
    await buildTestImage();
    await using p = await testPipeline({
      name: uniqueName("rec"),
      driver: "container",
      sources: [containerComponent("src", TEST_IMAGE)],
      sinks: [containerComponent("sink", TEST_IMAGE, {}, { inputs: ["src"] })],
    });
    await using flowctl = new FlowctlProcess(p.args, { env: p.env });
    await flowctl.waitForOutput("Pipeline started successfully");
    flowctl.kill("SIGKILL");
    await flowctl.result();
    const left = await leftovers(p.name);
    assertEquals([left.containers.length, left.networks.length], [2, 1]);
    const down = await runFlowctl(["down", p.file], { env: p.env });
    assertEquals(down.code, ExitCode.ok, down.stderr);
    assertStringIncludes(down.stdout, `Removed 2 container(s) and 1 network(s) of ${p.name}`);
    assertEquals(await leftovers(p.name), { containers: [], networks: [] });
  },
});
