/** One Ctrl+C delivered twice (terminal + `deno task`) is one graceful stop; a later one forces. */
import { ExitCode } from "../src/cli/exit_code.ts";
import { DUPLICATE_WINDOW_MS } from "../src/cli/shutdown_signals.ts";
import { delay } from "../src/delay.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import {
  fixture,
  FlowctlProcess,
  ROOT,
  type RunResult,
  tempDir,
  testPipeline,
  waitFor,
} from "./_helpers.ts";

/** A pipeline of one component that needs 300 ms after SIGTERM to stop cleanly, and says when it has. */
const slowPipeline = (name: string) =>
  testPipeline({
    name,
    sources: [{
      id: "slow",
      command: [
        "sh",
        "-c",
        "trap 'sleep 0.3; echo stopped cleanly; exit 0' TERM; echo slow ready; while true; do sleep 0.05; done",
      ],
    }],
  });

function assertCleanStop(result: RunResult): void {
  const output = result.stdout + result.stderr;
  assertEquals(result.code, ExitCode.ok, output);
  assertEquals(output.includes("Received second signal"), false, output);
  assertStringIncludes(result.stdout, "slow | stopped cleanly");
  assertStringIncludes(result.stdout, "Pipeline stopped successfully");
}

Deno.test("flowctl run: two SIGINTs a few ms apart are one Ctrl+C: grace periods are honoured", async () => {
  await using p = await slowPipeline("twice-fast");
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  await flowctl.waitForOutput("slow ready");
  flowctl.kill("SIGINT");
  // The copy comes once flowctl has taken the first: two signals pending at once merge into one.
  await flowctl.waitForOutput("Received shutdown signal");
  flowctl.kill("SIGINT");
  assertCleanStop(await flowctl.result());
});

Deno.test("flowctl run: a second SIGINT well after the first still forces the stop", async () => {
  await using p = await testPipeline({
    name: "twice-slow",
    sources: [fixture("stubborn", { IGNORE_SIGTERM: 1 }, { stop_grace_period: "60s" })],
  });
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  await flowctl.waitForOutput("stubborn ready");
  flowctl.kill("SIGINT");
  await flowctl.waitForOutput("ignoring SIGTERM");
  // A second keypress, a second apart: longer than the window by a wide margin. The delay IS
  // the behaviour under test.
  await delay(1_000);
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, ExitCode.forced, result.stdout + result.stderr);
  assertStringIncludes(result.stdout, "Received second signal: stopping without grace periods");
  assert(DUPLICATE_WINDOW_MS < 1_000);
});

/**
 * A command leading a process group of its own (setsid), as a shell's foreground job does,
 * with its output collected; disposal kills the whole group and waits for the output to end.
 */
class ProcessGroup implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  readonly #reading: Promise<unknown>;

  constructor(args: string[], env: Record<string, string>) {
    this.child = new Deno.Command("setsid", {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env,
    }).spawn();
    const decoder = new TextDecoder();
    this.#reading = Promise.all([
      this.child.stdout.pipeTo(
        new WritableStream({ write: (c) => void (this.stdout += decoder.decode(c)) }),
      ),
      this.child.stderr.pipeTo(
        new WritableStream({ write: (c) => void (this.stderr += decoder.decode(c)) }),
      ),
    ]);
  }

  /** Sends `signal` to every process of the group. */
  kill(signal: Deno.Signal): void {
    Deno.kill(-this.child.pid, signal);
  }

  /** Waits for the leader to exit and its output to end. */
  async result(): Promise<RunResult> {
    const { code } = await this.child.status;
    await this.#reading;
    return { code, stdout: this.stdout, stderr: this.stderr };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.kill("SIGKILL");
    } catch {
      // the group is gone: the normal case
    }
    await this.child.status;
    await this.#reading.catch(() => {});
  }
}

Deno.test("deno task demo: one Ctrl+C to the task's whole process group stops the pipeline gracefully", async () => {
  await using p = await slowPipeline("task-ctrl-c");
  // The demo task as deno.json spells it, with a small pipeline instead of the example.
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const demo: string = config.tasks.demo;
  assertStringIncludes(demo, "examples/ttp-pipeline.yaml");
  const task = demo.replace(
    "examples/ttp-pipeline.yaml",
    `${p.file} --log-dir ${p.logDir} --control-plane-port 0`,
  );
  await using dir = await tempDir("flowctl-task-");
  await Deno.writeTextFile(`${dir.path}/deno.json`, JSON.stringify({ tasks: { demo: task } }));

  await using group = new ProcessGroup([
    Deno.execPath(),
    "task",
    "--quiet",
    "--config",
    `${dir.path}/deno.json`,
    "--cwd",
    ROOT,
    "demo",
  ], { NO_COLOR: "1", ...p.env });
  await waitFor(
    () => group.stdout.includes("slow ready"),
    `"slow ready" in:\n${group.stdout}\n${group.stderr}`,
  );
  // What a terminal does on Ctrl+C: SIGINT to every process of the foreground group.
  group.kill("SIGINT");
  assertCleanStop(await group.result());
});
