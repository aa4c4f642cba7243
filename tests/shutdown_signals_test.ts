/** One Ctrl+C delivered twice (terminal + `deno task`) is one graceful stop; a later one forces. */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import {
  FIXTURE_COMMAND,
  FlowctlProcess,
  pipelineYaml,
  ROOT,
  runArgs,
  type RunResult,
  waitFor,
  writeTemp,
} from "./_helpers.ts";
import { delay } from "../src/delay.ts";
import { DUPLICATE_WINDOW_MS } from "../src/cli/shutdown_signals.ts";

/** A component that needs 300 ms after SIGTERM to stop cleanly, and says when it has. */
const SLOW_STOPPER = `    - id: slow
      command: [sh, -c, "trap 'sleep 0.3; echo stopped cleanly; exit 0' TERM; echo slow ready; while true; do sleep 0.05; done"]
`;

async function slowPipeline(name: string): Promise<{ file: string; logs: string }> {
  const dir = await Deno.makeTempDir({ prefix: `flowctl-${name}-` });
  const file = await writeTemp(
    "pipeline.yaml",
    pipelineYaml(name, `  sources:\n${SLOW_STOPPER}`),
    dir,
  );
  return { file, logs: `${dir}/logs` };
}

function assertCleanStop(result: RunResult): void {
  const output = result.stdout + result.stderr;
  assertEquals(result.code, 0, output);
  assertEquals(output.includes("Received second signal"), false, output);
  assertStringIncludes(result.stdout, "slow | stopped cleanly");
  assertStringIncludes(result.stdout, "Pipeline stopped successfully");
}

Deno.test("flowctl run: two SIGINTs a few ms apart are one Ctrl+C: grace periods are honoured", async () => {
  const { file, logs } = await slowPipeline("twice-fast");
  const flowctl = new FlowctlProcess(runArgs(file, logs));
  await flowctl.waitForOutput("slow ready");
  flowctl.kill("SIGINT");
  // The copy comes once flowctl has taken the first: two signals pending at once merge into one.
  await flowctl.waitForOutput("Received shutdown signal");
  flowctl.kill("SIGINT");
  assertCleanStop(await flowctl.result());
});

Deno.test("flowctl run: a second SIGINT well after the first still forces the stop", async () => {
  const dir = await Deno.makeTempDir({ prefix: "flowctl-twice-slow-" });
  const file = await writeTemp(
    "pipeline.yaml",
    pipelineYaml(
      "twice-slow",
      `  sources:\n    - id: stubborn\n      command: ${FIXTURE_COMMAND}\n      env: { IGNORE_SIGTERM: "1" }\n      stop_grace_period: 60s\n`,
    ),
    dir,
  );
  const flowctl = new FlowctlProcess(runArgs(file, `${dir}/logs`));
  await flowctl.waitForOutput("stubborn ready");
  flowctl.kill("SIGINT");
  await flowctl.waitForOutput("ignoring SIGTERM");
  // A second keypress, a second apart: longer than the window by a wide margin.
  await delay(1_000);
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, 130, result.stdout + result.stderr);
  assertStringIncludes(result.stdout, "Received second signal: stopping without grace periods");
  assert(DUPLICATE_WINDOW_MS < 1_000);
});

Deno.test("deno task demo: one Ctrl+C to the task's whole process group stops the pipeline gracefully", async () => {
  const { file, logs } = await slowPipeline("task-ctrl-c");
  // The demo task as deno.json spells it, with a small pipeline instead of the example.
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const demo: string = config.tasks.demo;
  assertStringIncludes(demo, "examples/ttp-pipeline.yaml");
  const task = demo.replace(
    "examples/ttp-pipeline.yaml",
    `${file} --log-dir ${logs} --control-plane-port 0`,
  );
  const dir = await Deno.makeTempDir({ prefix: "flowctl-task-" });
  await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ tasks: { demo: task } }));

  // setsid: the task leads a process group of its own, as a shell's foreground job does.
  const child = new Deno.Command("setsid", {
    args: [
      Deno.execPath(),
      "task",
      "--quiet",
      "--config",
      `${dir}/deno.json`,
      "--cwd",
      ROOT,
      "demo",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let stdout = "";
  let stderr = "";
  const decoder = new TextDecoder();
  const reading = Promise.all([
    child.stdout.pipeTo(new WritableStream({ write: (c) => void (stdout += decoder.decode(c)) })),
    child.stderr.pipeTo(new WritableStream({ write: (c) => void (stderr += decoder.decode(c)) })),
  ]);
  try {
    await waitFor(() => stdout.includes("slow ready"), `"slow ready" in:\n${stdout}\n${stderr}`);
    // What a terminal does on Ctrl+C: SIGINT to every process of the foreground group.
    Deno.kill(-child.pid, "SIGINT");
    const { code } = await child.status;
    await reading;
    assertCleanStop({ code, stdout, stderr });
  } finally {
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch {
      // the group is gone: the normal case
    }
    await child.status;
    await reading.catch(() => {});
  }
});
