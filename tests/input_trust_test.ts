/**
 * Input files flowctl reads (pipeline file, `.env`, `env_file`): only regular files, so a FIFO
 * or a device is one line and exit 2, and flowctl stays responsive to signals (also under
 * `run --watch`); env values the kernel would refuse at spawn are refused by validate.
 */
import { ExitCode } from "../src/cli/exit_code.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import {
  fixture,
  FlowctlProcess,
  isAlive,
  MAIN,
  recordedPids,
  runFlowctl,
  testPipeline,
  uniqueName,
  waitFor,
} from "./_helpers.ts";

/** A hang guard: a flowctl blocked on a FIFO is killed after 20 s (exit 124 from timeout). */
const GUARD = ["timeout", "-s", "KILL", "20"];

async function mkfifo(path: string): Promise<void> {
  assertEquals((await new Deno.Command("mkfifo", { args: [path] }).output()).code, 0);
}

Deno.test("a FIFO or device as pipeline file, .env or env_file is one line and exit 2 (6)", async (t) => {
  await using p = await testPipeline({
    name: uniqueName("fifo"),
    sources: [fixture("src", {}, { env_file: "src.env" })],
  });
  await t.step("env_file", async () => {
    await mkfifo(`${p.dir}/src.env`);
    const result = await runFlowctl(["validate", p.file], { wrapper: GUARD });
    assertEquals(result.code, ExitCode.usage, result.stderr);
    assertMatch(
      result.stderr.trim(),
      /^.*pipeline\.yaml:\d+:\d+: spec\.sources\[0\]\.env_file: cannot read env_file "src\.env" \(.*\): is a FIFO \(named pipe\), not a regular file$/,
    );
  });
  await t.step(".env", async () => {
    await Deno.remove(`${p.dir}/src.env`);
    await Deno.writeTextFile(`${p.dir}/src.env`, "A=1\n");
    await mkfifo(`${p.dir}/.env`);
    const result = await runFlowctl(["validate", p.file], { wrapper: GUARD });
    assertEquals(result.code, ExitCode.usage, result.stderr);
    assertEquals(
      result.stderr.trim(),
      `${p.dir}/.env: cannot read .env: is a FIFO (named pipe), not a regular file`,
    );
  });
  await t.step("pipeline file", async () => {
    const fifo = `${p.dir}/fifo.yaml`;
    await mkfifo(fifo);
    const result = await runFlowctl(["validate", fifo], { wrapper: GUARD });
    assertEquals(result.code, ExitCode.usage, result.stderr);
    assertStringIncludes(result.stderr, `${fifo}: is a FIFO (named pipe), not a regular file`);
    const device = await runFlowctl(["run", "/dev/null"], { wrapper: GUARD });
    assertEquals(device.code, ExitCode.usage, device.stderr);
    assertStringIncludes(device.stderr, "/dev/null: is a device, not a regular file");
  });
});

Deno.test("run --watch: an env_file turned into a FIFO fails the reload, and SIGTERM still stops everything (6)", async () => {
  await using p = await testPipeline((paths) => ({
    name: uniqueName("fifowatch"),
    sources: [fixture("src", { EVENTS_FILE: paths.events }, { env_file: "src.env" })],
  }));
  await Deno.writeTextFile(`${p.dir}/src.env`, "A=1\n");
  await using flowctl = new FlowctlProcess([...p.args, "--watch"], { env: p.env });
  await flowctl.waitForOutput("Pipeline started successfully");
  await waitFor(() => recordedPids(p.events).length === 1, "the source's pid");
  await Deno.remove(`${p.dir}/src.env`);
  await mkfifo(`${p.dir}/src.env`);
  await flowctl.waitForOutput("is a FIFO (named pipe), not a regular file");
  flowctl.kill("SIGTERM");
  let exited = false;
  const result = flowctl.result().finally(() => exited = true);
  await waitFor(() => exited, "flowctl to stop on SIGTERM", 10_000);
  assertEquals((await result).code, ExitCode.ok, flowctl.stderr);
  for (const pid of recordedPids(p.events)) assert(!isAlive(pid), `pid ${pid} is gone`);
});

Deno.test("validate refuses env values the kernel would refuse: NUL bytes, over 128 KiB, over ARG_MAX (12)", async () => {
  const big = "x".repeat(131_072);
  await using p = await testPipeline({
    name: uniqueName("envlimits"),
    sources: [
      fixture("nul", { SECRET: "a\0b" }),
      fixture("long", { BIG: big }),
      fixture("many", {}, { env_file: ["a.env", "b.env", "c.env"] }),
    ],
  });
  // Files are limited to 1 MiB each, so the total comes from three env_files of 770 KB.
  for (const name of ["a", "b", "c"]) {
    const lines = Array.from(
      { length: 7 },
      (_, i) => `${name.toUpperCase()}${i}=${"y".repeat(110_000)}`,
    );
    await Deno.writeTextFile(`${p.dir}/${name}.env`, lines.join("\n") + "\n");
  }
  const result = await runFlowctl(["validate", p.file]);
  assertEquals(result.code, ExitCode.usage, result.stderr);
  const lines = result.stderr.trim().split("\n");
  const line = (text: string) => lines.find((l) => l.includes(text)) ?? lines.join("\n");
  assertMatch(
    line("NUL"),
    /pipeline\.yaml:\d+:\d+: spec\.sources\[0\]\.env\.SECRET: env "SECRET" contains a NUL byte/,
  );
  assertMatch(
    line("MAX_ARG_STRLEN"),
    /pipeline\.yaml:\d+:\d+: spec\.sources\[1\]\.env\.BIG: env "BIG" is 131077 bytes; the kernel allows at most 131072 per variable/,
  );
  assertMatch(line("ARG_MAX"), /spec\.sources\[2\]\.env: command and env take \d+ bytes together/);
});

Deno.test("run - stops on SIGTERM while standard input never ends (6)", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, "run", "-", "--control-plane-port", "0"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  try {
    // More than a pipe holds (64 KiB): the write completes only once flowctl has read most of
    // it, so flowctl is reading standard input, with its signal handlers in place.
    await writer.write(
      new TextEncoder().encode(`apiVersion: flowctl/v1\n#${"x".repeat(200_000)}\n`),
    );
    child.kill("SIGTERM");
    let exited = false;
    const output = child.output().finally(() => exited = true);
    await waitFor(() => exited, "flowctl to stop on SIGTERM while reading stdin", 10_000);
    const { code, stderr } = await output;
    assertEquals(code, ExitCode.failure);
    assertStringIncludes(
      new TextDecoder().decode(stderr),
      "Stopped (SIGTERM) while reading the pipeline from standard input",
    );
  } finally {
    await writer.close().catch(() => {});
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
  }
});
