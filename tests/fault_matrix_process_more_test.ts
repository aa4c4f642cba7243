/**
 * Fault matrix, process mode, continued: descendants that escape their component's process
 * group, flowctl killed at the moment of a spawn, two runs of one pipeline at once.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import {
  FlowctlProcess,
  pipelineYaml,
  processesWith,
  runArgs,
  type RunResult,
  waitFor,
  writeTemp,
} from "./_helpers.ts";

async function setup(body: string) {
  const dir = await Deno.makeTempDir({ prefix: "flowctl-procs-" });
  const name = `procs-${crypto.randomUUID().slice(0, 8)}`;
  const file = await writeTemp("pipeline.yaml", pipelineYaml(name, body), dir);
  return { dir, name, file, env: { FLOWCTL_STATE_DIR: `${dir}/state` } };
}

/** A `sleep` duration no other test uses, so its processes can be found by command line. */
function uniqueSleep(): string {
  return String(100_000 + Math.floor(Math.random() * 800_000));
}

/** flowctl's result, or a failure (after killing it) when it has not exited within `ms`. */
async function resultWithin(flowctl: FlowctlProcess, ms: number): Promise<RunResult> {
  const timer = setTimeout(() => flowctl.kill("SIGKILL"), ms);
  try {
    const result = await flowctl.result();
    assert(result.code !== 137, `flowctl did not exit within ${ms} ms:\n${result.stdout}`);
    return result;
  } finally {
    clearTimeout(timer);
  }
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
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
      const s = await setup(
        `  sources:\n    - id: spawner\n      command: [sh, -c, ${JSON.stringify(script)}]\n` +
          `      stop_grace_period: 2s\n`,
      );
      const flowctl = new FlowctlProcess(runArgs(s.file, `${s.dir}/logs`), { env: s.env });
      try {
        await flowctl.waitForOutput("daemon started");
        await waitFor(() => processesWith(`sleep ${sleep}`).length === 1, "the daemon");
        flowctl.kill("SIGINT");
        const result = await resultWithin(flowctl, 15_000);
        assertEquals(result.code, 0, result.stdout + result.stderr);
        assertStringIncludes(result.stdout, "Pipeline stopped successfully");
        assertEquals(processesWith(`sleep ${sleep}`), [], "the escaped daemon was stopped");
      } finally {
        killAll(processesWith(`sleep ${sleep}`));
      }
    });
  }
});

Deno.test("flowctl run: of two runs of one pipeline started at once, exactly one starts", async () => {
  const sleep = uniqueSleep();
  const s = await setup(`  sources:\n    - id: idle\n      command: [sleep, "${sleep}"]\n`);
  const runs = [1, 2].map((n) =>
    new FlowctlProcess(runArgs(s.file, `${s.dir}/logs${n}`), { env: s.env })
  );
  try {
    // The one that lost exits on its own; then the winner is stopped.
    const refused = (run: FlowctlProcess) => (run.stdout + run.stderr).includes("already running");
    await waitFor(() => runs.some(refused), "one run refusing to start");
    const loser = runs.find(refused);
    const winner = runs.find((run) => run !== loser);
    assert(loser && winner);
    const lost = await resultWithin(loser, 15_000);
    assertEquals(lost.code, 1);
    assertMatch(
      lost.stdout + lost.stderr,
      /Cannot start pipeline: "procs-\w+" is already running \(flowctl pid \d+/,
    );
    assert(!lost.stdout.includes("Starting component"), lost.stdout);
    await winner.waitForOutput("Pipeline started successfully");
    assertEquals(processesWith(`sleep ${sleep}`).length, 1, "one copy of the component");
    winner.kill("SIGINT");
    assertEquals((await resultWithin(winner, 15_000)).code, 0);
  } finally {
    for (const run of runs) run.kill("SIGKILL");
    await Promise.all(runs.map((run) => run.result()));
    killAll(processesWith(`sleep ${sleep}`));
  }
});
