/** `flowctl run -d`: a detached run that survives its terminal, and works with status and down. */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import {
  FIXTURE_COMMAND,
  freePort,
  isAlive,
  MAIN,
  pipelineYaml,
  readEvents,
  runArgs,
  runFlowctl,
  tempDir,
  waitFor,
  writeTemp,
} from "./_helpers.ts";

const STATE_DIR = Deno.env.get("FLOWCTL_STATE_DIR") ?? "/tmp/flowctl-state";
const env = { FLOWCTL_STATE_DIR: STATE_DIR };

async function setup(name: string, sinkEnv = "", sinkExtra = "") {
  const temp = await tempDir("flowctl-detach-");
  const dir = temp.path;
  const events = `${dir}/events.txt`;
  const port = freePort();
  const file = await writeTemp(
    "pipeline.yaml",
    pipelineYaml(
      name,
      `  sources:\n    - id: src\n      command: ${FIXTURE_COMMAND}\n` +
        `      env: { EVENTS_FILE: "${events}", HEALTH_PORT: "${port}", TICK_MS: "50" }\n` +
        `      health: { tcp: { port: ${port} } }\n` +
        `  sinks:\n    - id: sink\n      inputs: [src]\n      command: ${FIXTURE_COMMAND}\n` +
        `      env: { EVENTS_FILE: "${events}"${sinkEnv} }\n      restart: "no"\n${sinkExtra}`,
    ),
    dir,
  );
  return { dir, file, events, [Symbol.asyncDispose]: () => temp[Symbol.asyncDispose]() };
}

function pids(events: string): number[] {
  return readEvents(events).filter(([, kind]) => kind === "pid").map(([, , pid]) => pid);
}

Deno.test("flowctl run -d returns once started, survives its session, and down cleans it", async () => {
  await using setUp = await setup("operate-detach");
  const { dir, file, events } = setUp;
  // The whole "terminal" session: setsid makes sh a session leader; run -d inside it.
  const session = new Deno.Command("setsid", {
    args: [
      "sh",
      "-c",
      `"$0" run -A --quiet "$1" run "$2" --log-dir "$3" --control-plane-port 0 -d; echo "exit=$?"; exec sleep 1000`,
      Deno.execPath(),
      MAIN,
      file,
      `${dir}/logs`,
    ],
    env: { ...env, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const reading = (async () => {
    for await (const chunk of session.stdout) output += new TextDecoder().decode(chunk);
  })();
  const errors = new Response(session.stderr).text();
  // Whatever happens, the "terminal" goes and the detached run is taken down.
  await using _detached = {
    async [Symbol.asyncDispose]() {
      try {
        Deno.kill(-session.pid, "SIGKILL");
      } catch {
        // already gone
      }
      await runFlowctl(["down", file], { env });
    },
  };
  await waitFor(() => output.includes("exit="), "run -d to return", 30_000);
  assertStringIncludes(output, "Pipeline started successfully");
  assertStringIncludes(output, "runs in the background");
  assertStringIncludes(output, "exit=0");
  // Once run -d returned, status already shows the started pipeline.
  const first = await runFlowctl(["status", file, "--output", "json"], { env });
  const phases = JSON.parse(first.stdout).pipelines[0].components.map((c: { state: string }) =>
    c.state
  );
  assertEquals(phases, ["healthy", "running"]);
  // The terminal closes: its whole process group goes.
  Deno.kill(-session.pid, "SIGKILL");
  await session.status;
  await reading;
  await errors;

  await waitFor(() => pids(events).length === 2, "both components to record their pids");
  const running = pids(events);
  const ticks = () =>
    Deno.readTextFileSync(`${dir}/logs/src.log`).split("\n").filter((l) => l.includes("tick"))
      .length;
  const before = ticks();
  await waitFor(() => ticks() > before + 3, "the source to keep running after the session died");
  assert(running.every(isAlive), "every component still runs");

  const status = await runFlowctl(["status", file], { env });
  assertEquals(status.code, 0, status.stderr);
  assertStringIncludes(status.stdout, "Pipeline operate-detach");

  const twice = await runFlowctl([...runArgs(file, `${dir}/logs`), "-d"], { env });
  assertEquals(twice.code, 1);
  assertStringIncludes(twice.stderr, `"operate-detach" is already running`);
  assertStringIncludes(
    await Deno.readTextFile(`${STATE_DIR}/operate-detach.out`),
    "Pipeline started successfully",
    "the running run's output is kept",
  );

  const logs = await runFlowctl(["logs", file, "src", "--tail", "3"], { env });
  assertEquals(logs.code, 0, logs.stderr);
  assertStringIncludes(logs.stdout, "src tick");

  const restart = await runFlowctl(["restart", file, "src"], { env });
  assertEquals(restart.code, 0, restart.stderr);
  assertStringIncludes(restart.stdout, "Restarted component src");
  const detachedOutput = await Deno.readTextFile(`${STATE_DIR}/operate-detach.out`);
  assertStringIncludes(detachedOutput, "Restarting component src (requested)");
  await waitFor(() => pids(events).length === 3, "src to start again");
  const all = pids(events);

  const down = await runFlowctl(["down", file], { env });
  assertEquals(down.code, 0, down.stderr);
  assertStringIncludes(down.stdout, "Pipeline operate-detach stopped");
  assertEquals(all.filter(isAlive), [], "down stopped every component");
  const again = await runFlowctl(["status", file], { env });
  assertEquals(again.code, 1);
});

Deno.test("flowctl run -d reports a failed start like the foreground and leaves nothing running", async () => {
  await using setUp = await setup(
    "operate-detach-fail",
    `, EXIT_AFTER_MS: "0", EXIT_CODE: "3"`,
    `      health: { tcp: { port: ${freePort()} } }\n`,
  );
  const { dir, file, events } = setUp;
  const result = await runFlowctl([...runArgs(file, `${dir}/logs`), "--detach"], { env });
  assertEquals(result.code, 1, result.stdout + result.stderr);
  assertStringIncludes(
    result.stderr,
    `Pipeline failed: Component "sink" exited with code 3 during startup`,
  );
  assertStringIncludes(result.stdout, "Stopping component: src");
  assertEquals(pids(events).filter(isAlive), [], "nothing is left running");
  const status = await runFlowctl(["status", file], { env });
  assertEquals(status.code, 1);
});

Deno.test("flowctl run -d with a configuration error exits 2 without starting anything", async () => {
  await using dirTemp = await tempDir("flowctl-detach-");
  const dir = dirTemp.path;
  const file = await writeTemp(
    "pipeline.yaml",
    pipelineYaml("operate-detach-bad", `  sources:\n    - id: src\n      comand: [x]\n`),
    dir,
  );
  const result = await runFlowctl([...runArgs(file, `${dir}/logs`), "-d"], { env });
  assertEquals(result.code, 2);
  assertStringIncludes(result.stderr, `unknown key "comand"`);
});
