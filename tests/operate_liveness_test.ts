/** Liveness (`health.restart_after`) and exec probes (`health.exec`), with real processes. */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import {
  FIXTURE_COMMAND,
  FlowctlProcess,
  isAlive,
  pipelineYaml,
  readEvents,
  runArgs,
  runFlowctl,
  tempDir,
  waitFor,
  writeTemp,
} from "./_helpers.ts";

const env = { FLOWCTL_STATE_DIR: Deno.env.get("FLOWCTL_STATE_DIR") ?? "/tmp/flowctl-state" };

Deno.test("an exec probe runs with the component's env and working dir; restart_after restarts a hung component", async () => {
  await using dirTemp = await tempDir("flowctl-liveness-");
  const dir = dirTemp.path;
  const events = `${dir}/events.txt`;
  // The probe passes while "$HUNG_FLAG" (relative: the working dir) does not exist.
  const file = await writeTemp(
    "pipeline.yaml",
    pipelineYaml(
      "operate-liveness",
      `  sources:\n    - id: worker\n      command: ${FIXTURE_COMMAND}\n` +
        `      working_dir: ${dir}\n` +
        `      env: { EVENTS_FILE: "${events}", HUNG_FLAG: "hung" }\n` +
        `      restart: on-failure\n      stop_grace_period: 2s\n` +
        `      health:\n        exec: [sh, -c, 'test ! -e "$HUNG_FLAG"']\n` +
        `        interval: 100ms\n        retries: 1\n        restart_after: 3\n`,
    ),
    dir,
  );
  await using flowctl = new FlowctlProcess(runArgs(file, `${dir}/logs`), { env });
  await flowctl.waitForOutput("Pipeline started successfully");
  assertStringIncludes(flowctl.stdout, "Component worker health check passed");
  const [first] = pids(events);
  await Deno.writeTextFile(`${dir}/hung`, "");
  await flowctl.waitForOutput("Component worker is unhealthy");
  await flowctl.waitForOutput("Component worker failed 3 health checks in a row; restarting it");
  await flowctl.waitForOutput("Restarting component worker in 1s (restart 1)");
  await Deno.remove(`${dir}/hung`);
  await flowctl.waitForOutput("Starting component: worker (attempt 2)");
  await waitForCount(flowctl, "Component worker health check passed", 2);
  assert(!isAlive(first!), "the hung process was stopped");
  await waitFor(() => pids(events).length === 2, "the second process to record its pid");
  const all = pids(events);
  assert(isAlive(all[1]!), "the restarted process runs");
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, 0, result.stderr);
  assertEquals(pids(events).filter(isAlive), []);
});

Deno.test("restart_after with restart: no fails the pipeline, naming the failed checks", async () => {
  await using dirTemp = await tempDir("flowctl-liveness-");
  const dir = dirTemp.path;
  const events = `${dir}/events.txt`;
  const file = await writeTemp(
    "pipeline.yaml",
    pipelineYaml(
      "operate-liveness-no",
      `  sources:\n    - id: worker\n      command: ${FIXTURE_COMMAND}\n` +
        `      working_dir: ${dir}\n      env: { EVENTS_FILE: "${events}" }\n` +
        `      restart: "no"\n` +
        `      health: { exec: [sh, -c, "test ! -e hung"], interval: 100ms, restart_after: 2 }\n`,
    ),
    dir,
  );
  const flowctl = new FlowctlProcess(runArgs(file, `${dir}/logs`), { env });
  await flowctl.waitForOutput("Pipeline started successfully");
  await Deno.writeTextFile(`${dir}/hung`, "");
  const result = await flowctl.result();
  assertEquals(result.code, 1);
  assertStringIncludes(
    result.stdout,
    "Component worker failed 2 health checks in a row; stopping it",
  );
  assertStringIncludes(
    result.stderr,
    `Pipeline failed: Component "worker" was stopped after failing 2 health checks in a row`,
  );
  assertEquals(pids(events).filter(isAlive), []);
});

Deno.test("an exec probe that never passes fails the start with the command's exit code", async () => {
  await using dirTemp = await tempDir("flowctl-liveness-");
  const dir = dirTemp.path;
  const file = await writeTemp(
    "pipeline.yaml",
    pipelineYaml(
      "operate-exec-start",
      `  sources:\n    - id: worker\n      command: ${FIXTURE_COMMAND}\n` +
        `      health: { exec: [sh, -c, "exit 4"], start_period: 500ms }\n`,
    ),
    dir,
  );
  const result = await runFlowctl(runArgs(file, `${dir}/logs`), { env });
  assertEquals(result.code, 1);
  assertStringIncludes(
    result.stderr,
    `did not pass its health check within 500ms (last probe: "sh -c exit 4" exited with code 4)`,
  );
});

Deno.test("flowctl validate checks health.exec and health.restart_after", async () => {
  const file = await writeTemp(
    "pipeline.yaml",
    pipelineYaml(
      "operate-validate",
      `  sources:\n    - id: a\n      command: [x]\n      health: { exec: [] }\n` +
        `    - id: b\n      command: [x]\n      health: { tcp: { port: 80 }, restart_after: 0 }\n` +
        "",
    ),
  );
  const registered = await writeTemp(
    "pipeline.yaml",
    pipelineYaml(
      "operate-validate",
      `  sources:\n    - id: c\n      command: [x]\n      health: { registered: true, restart_after: 2 }\n`,
    ),
  );
  const result = await runFlowctl(["validate", file]);
  assertEquals(result.code, 2);
  assertStringIncludes(result.stderr, "spec.sources[0].health.exec");
  assertStringIncludes(result.stderr, "got an empty list");
  assertStringIncludes(result.stderr, "a probe count must be at least 1, got 0");
  const second = await runFlowctl(["validate", registered]);
  assertEquals(second.code, 2);
  assertStringIncludes(second.stderr, 'restart_after needs a probe ("http", "tcp" or "exec")');
});

function pids(events: string): number[] {
  return readEvents(events).filter(([, kind]) => kind === "pid").map(([, , pid]) => pid);
}

/** Waits until flowctl's output holds `text` `count` times. */
async function waitForCount(flowctl: FlowctlProcess, text: string, count: number): Promise<void> {
  await waitFor(
    () => flowctl.stdout.split(text).length - 1 >= count,
    () => `"${text}" ${count} times in flowctl output:\n${flowctl.stdout}`,
    20_000,
  );
}
