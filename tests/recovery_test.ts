/** Nothing is left behind even when flowctl itself is killed with SIGKILL. */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { buildTestImage, leftovers, SKIP_DOCKER, TEST_IMAGE } from "./_docker.ts";
import {
  FIXTURE_COMMAND,
  FlowctlProcess,
  isAlive,
  pipelineYaml,
  readEvents,
  runArgs,
  runFlowctl,
  waitFor,
  writeTemp,
} from "./_helpers.ts";

async function setup(body: (events: string) => string) {
  const dir = await Deno.makeTempDir({ prefix: "flowctl-recovery-" });
  const name = `rec-${crypto.randomUUID().slice(0, 8)}`;
  const events = `${dir}/events.txt`;
  const file = await writeTemp("pipeline.yaml", pipelineYaml(name, body(events)), dir);
  const env = { FLOWCTL_STATE_DIR: `${dir}/state` };
  return {
    dir,
    name,
    file,
    events,
    env,
    args: runArgs(file, `${dir}/logs`),
  };
}

const fixtures = (events: string) =>
  `  sources:\n    - id: stubborn\n      command: ${FIXTURE_COMMAND}\n      env: { EVENTS_FILE: "${events}", IGNORE_SIGTERM: "1", GRANDCHILD: "1" }\n      stop_grace_period: 300ms\n` +
  `  sinks:\n    - id: sink\n      inputs: [stubborn]\n      command: ${FIXTURE_COMMAND}\n      env: { EVENTS_FILE: "${events}" }\n`;

function recordedPids(events: string): number[] {
  return readEvents(events).filter(([, kind]) => kind === "pid").map(([, , pid]) => pid);
}

Deno.test("kill -9 of flowctl, then flowctl down, leaves no process of the run", async () => {
  const s = await setup(fixtures);
  const flowctl = new FlowctlProcess(s.args, { env: s.env });
  await flowctl.waitForOutput("sink ready");
  await waitFor(() => recordedPids(s.events).length === 3, "three recorded pids");
  flowctl.kill("SIGKILL");
  await flowctl.result();
  const pids = recordedPids(s.events);
  assertEquals(pids.filter(isAlive).length, 3, "the components outlive a killed flowctl");

  const down = await runFlowctl(["down", s.file], { env: s.env });
  assertEquals(down.code, 0, down.stderr);
  assertStringIncludes(down.stdout, "Stopped component stubborn: process group");
  assertStringIncludes(down.stdout, "Stopped component sink: process group");
  assertEquals(pids.filter(isAlive), []);
  const again = await runFlowctl(["down", s.file], { env: s.env });
  assertStringIncludes(again.stdout, `Nothing of pipeline ${s.name} was left to clean up`);
});

Deno.test("flowctl run cleans up after a killed run of the same pipeline before starting", async () => {
  const s = await setup(fixtures);
  const first = new FlowctlProcess(s.args, { env: s.env });
  await first.waitForOutput("sink ready");
  await waitFor(() => recordedPids(s.events).length === 3, "three recorded pids");
  first.kill("SIGKILL");
  await first.result();
  const stale = recordedPids(s.events);

  const second = new FlowctlProcess(s.args, { env: s.env });
  await second.waitForOutput("Pipeline started successfully");
  assertStringIncludes(second.stdout, "Stopped component stubborn left by an earlier run");
  assertEquals(stale.filter(isAlive), []);
  await second.waitForOutput("sink ready");
  second.kill("SIGINT");
  assertEquals((await second.result()).code, 0);
  assertEquals(recordedPids(s.events).filter(isAlive), []);
});

Deno.test("flowctl down stops a pipeline that is still running", async () => {
  const s = await setup((events) =>
    `  sources:\n    - id: src\n      command: ${FIXTURE_COMMAND}\n      env: { EVENTS_FILE: "${events}" }\n`
  );
  const flowctl = new FlowctlProcess(s.args, { env: s.env });
  await flowctl.waitForOutput("src ready");
  const down = await runFlowctl(["down", s.file], { env: s.env });
  assertEquals(down.code, 0, down.stderr);
  assertStringIncludes(down.stdout, `Pipeline ${s.name} stopped`);
  const result = await flowctl.result();
  assertEquals(result.code, 0);
  assertStringIncludes(result.stdout, "Pipeline stopped successfully");
  assert(recordedPids(s.events).every((pid) => !isAlive(pid)));
});

Deno.test({
  name: "kill -9 of flowctl in container mode, then flowctl down, leaves no container or network",
  ignore: SKIP_DOCKER,
  async fn() {
    await buildTestImage();
    const s = await setup(() =>
      `  driver: container\n  sources:\n    - id: src\n      image: ${TEST_IMAGE}\n      pull_policy: never\n  sinks:\n    - id: sink\n      inputs: [src]\n      image: ${TEST_IMAGE}\n      pull_policy: never\n`
    );
    const flowctl = new FlowctlProcess(s.args, { env: s.env });
    await flowctl.waitForOutput("Pipeline started successfully");
    flowctl.kill("SIGKILL");
    await flowctl.result();
    const left = await leftovers(s.name);
    assertEquals([left.containers.length, left.networks.length], [2, 1]);
    const down = await runFlowctl(["down", s.file], { env: s.env });
    assertEquals(down.code, 0, down.stderr);
    assertStringIncludes(down.stdout, `Removed 2 container(s) and 1 network(s) of ${s.name}`);
    assertEquals(await leftovers(s.name), { containers: [], networks: [] });
  },
});
