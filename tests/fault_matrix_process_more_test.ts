/**
 * Fault matrix, continued: descendants that escape their component's process group, flowctl
 * killed at the moment of a spawn, two runs of one pipeline at once (processes, containers).
 */
import { ExitCode } from "../src/cli/exit_code.ts";
import { DockerClient } from "../src/docker/docker_client.ts";
import { LABEL_PIPELINE } from "../src/docker/labels.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import {
  containerComponent,
  FlowctlProcess,
  processesWith,
  runArgs,
  runFlowctl,
  type RunResult,
  type TestComponent,
  testPipeline,
  uniqueName,
  waitFor,
} from "./_helpers.ts";
import { buildTestImage, leftovers, SKIP_DOCKER, TEST_IMAGE } from "./_docker.ts";

/** A process-mode pipeline of `sources` under a fresh name. */
const pipeline = (sources: TestComponent[]) => testPipeline({ name: uniqueName("procs"), sources });

/** A `sleep` duration no other test uses, so its processes can be found by command line. */
function uniqueSleep(): string {
  return String(100_000 + Math.floor(Math.random() * 800_000));
}

/** flowctl's result, or a failure (after killing it) when it has not exited within `ms`. */
async function resultWithin(flowctl: FlowctlProcess, ms: number): Promise<RunResult> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    flowctl.kill("SIGKILL");
  }, ms);
  try {
    const result = await flowctl.result();
    assert(!timedOut, `flowctl did not exit within ${ms} ms:\n${result.stdout}`);
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/** Kills, when disposed, every process whose command line holds `token` (left by a failure). */
function killedAtEnd(token: string): Disposable {
  return {
    [Symbol.dispose]() {
      for (const pid of processesWith(token)) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    },
  };
}

Deno.test("flowctl run: Ctrl+C finishes and stops daemons that escaped the component's group", async (t) => {
  const cases = [
    { name: "a setsid daemon that keeps the output pipe", daemon: "setsid sleep {N} &" },
    {
      name: "a setsid daemon with a cleared environment that keeps the output pipe",
      daemon: "setsid env -i sleep {N} &",
    },
    {
      name: "a setsid daemon that closed its output",
      daemon: "setsid sleep {N} >/dev/null 2>&1 </dev/null &",
    },
  ];
  for (const { name, daemon } of cases) {
    await t.step(name, async () => {
      const sleep = uniqueSleep();
      const script = `${daemon.replace("{N}", sleep)} echo daemon started; exec sleep 1000`;
      using _daemons = killedAtEnd(`sleep ${sleep}`);
      await using p = await pipeline([
        { id: "spawner", command: ["sh", "-c", script], stop_grace_period: "2s" },
      ]);
      await using flowctl = new FlowctlProcess(p.args, { env: p.env });
      await flowctl.waitForOutput("daemon started");
      await waitFor(() => processesWith(`sleep ${sleep}`).length === 1, "the daemon");
      flowctl.kill("SIGINT");
      const result = await resultWithin(flowctl, 15_000);
      assertEquals(result.code, ExitCode.ok, result.stdout + result.stderr);
      assertStringIncludes(result.stdout, "Pipeline stopped successfully");
      assertEquals(processesWith(`sleep ${sleep}`), [], "the escaped daemon was stopped");
    });
  }
});

Deno.test("flowctl run: of two runs of one pipeline started at once, exactly one starts", async () => {
  const sleep = uniqueSleep();
  using _sleeps = killedAtEnd(`sleep ${sleep}`);
  await using p = await pipeline([{ id: "idle", command: ["sleep", sleep] }]);
  await using run1 = new FlowctlProcess(runArgs(p.file, `${p.dir}/logs1`), { env: p.env });
  await using run2 = new FlowctlProcess(runArgs(p.file, `${p.dir}/logs2`), { env: p.env });
  const runs = [run1, run2];
  // The one that lost exits on its own; then the winner is stopped.
  const refused = (run: FlowctlProcess) => (run.stdout + run.stderr).includes("already running");
  await waitFor(() => runs.some(refused), "one run refusing to start");
  const loser = runs.find(refused);
  const winner = runs.find((run) => run !== loser);
  assert(loser && winner);
  const lost = await resultWithin(loser, 15_000);
  assertEquals(lost.code, ExitCode.failure);
  assertMatch(
    lost.stdout + lost.stderr,
    /Cannot start pipeline: "procs-\w+" is already running \(flowctl pid \d+/,
  );
  assert(!lost.stdout.includes("Starting component"), lost.stdout);
  await winner.waitForOutput("Pipeline started successfully");
  assertEquals(processesWith(`sleep ${sleep}`).length, 1, "one copy of the component");
  winner.kill("SIGINT");
  assertEquals((await resultWithin(winner, 15_000)).code, ExitCode.ok);
});

Deno.test("flowctl down stops components spawned just before flowctl was killed, unrecorded", async () => {
  const sleep = uniqueSleep();
  // "killer" is spawned first and kills flowctl at once, while flowctl is still spawning the
  // rest of its level, before any of their pids can have reached the state file.
  const sleepers = Array.from(
    { length: 40 },
    (_, i) => ({ id: `sleeper-${i}`, command: ["sleep", sleep] }),
  );
  using _sleeps = killedAtEnd(`sleep ${sleep}`);
  await using p = await pipeline([
    { id: "killer", command: ["sh", "-c", `kill -9 $$PPID; exec sleep ${sleep}`] },
    ...sleepers,
  ]);
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  const killed = await resultWithin(flowctl, 15_000);
  // 128 + SIGKILL: the killer component killed flowctl.
  assertEquals(killed.code, 137, killed.stdout + killed.stderr);
  const left = processesWith(`sleep ${sleep}`);
  assert(left.length > 0, "flowctl was killed after starting components");

  const down = await runFlowctl(["down", p.file], { env: p.env });
  assertEquals(down.code, ExitCode.ok, down.stdout + down.stderr);
  assertStringIncludes(down.stdout, "Stopped component killer");
  await waitFor(() => processesWith(`sleep ${sleep}`).length === 0, "no component left", 5_000);
});

Deno.test({
  name:
    "container mode: a second run from another state folder refuses, the live run's containers untouched",
  ignore: SKIP_DOCKER,
  fn: async () => {
    await buildTestImage();
    await using p = await testPipeline({
      name: uniqueName("owner"),
      driver: "container",
      sources: [containerComponent("src", TEST_IMAGE)],
    });
    await using first = new FlowctlProcess(p.args, {
      env: { FLOWCTL_STATE_DIR: `${p.dir}/state1` },
    });
    await first.waitForOutput("Pipeline started successfully");
    using docker = await DockerClient.connect();
    const before = await docker.listContainers(LABEL_PIPELINE, p.name);
    assertEquals(before.length, 1);

    await using second = new FlowctlProcess(runArgs(p.file, `${p.dir}/logs2`), {
      env: { FLOWCTL_STATE_DIR: `${p.dir}/state2` },
    });
    const refused = await resultWithin(second, 30_000);
    assertEquals(refused.code, ExitCode.failure, refused.stdout + refused.stderr);
    assertMatch(
      refused.stdout + refused.stderr,
      /"owner-\w+" is already running: its containers belong to flowctl pid \d+, which is alive/,
    );
    const after = await docker.listContainers(LABEL_PIPELINE, p.name);
    assertEquals(after.map((c) => [c.Id, c.State]), before.map((c) => [c.Id, "running"]));

    const down = await runFlowctl(["down", p.file], {
      env: { FLOWCTL_STATE_DIR: `${p.dir}/state2` },
    });
    assertStringIncludes(down.stdout, "which is still running (with another state folder)");
    assertEquals((await docker.listContainers(LABEL_PIPELINE, p.name)).length, 1);
    assert(!first.stdout.includes("Pipeline stopped"), first.stdout);

    first.kill("SIGINT");
    assertEquals((await resultWithin(first, 30_000)).code, ExitCode.ok);
    assertEquals(await leftovers(p.name), { containers: [], networks: [] });
  },
});
