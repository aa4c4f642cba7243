/**
 * Logs and state under stress: endless lines, a full log disk, existing and unwritable folders,
 * and `flowctl logs` from another folder after the run.
 */
import { ExitCode } from "../src/cli/exit_code.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import {
  runArgs,
  runFlowctl,
  type TempDir,
  tempDir,
  type TestPipeline,
  testPipeline,
  uniqueName,
} from "./_helpers.ts";

const isRoot = Deno.uid() === 0;
const cap = 64 * 1024;

/** A pipeline of one sink running `script` with `sh -c`, in a new temporary folder. */
function shellPipeline(prefix: string, script: string): Promise<TestPipeline> {
  return testPipeline({
    name: uniqueName(prefix),
    sinks: [{ id: "sink", command: ["sh", "-c", script] }],
  });
}

/** A tmpfs mounted with `options` on a new folder; disposal unmounts and removes it. */
async function tmpfs(options: string): Promise<TempDir> {
  await using stack = new AsyncDisposableStack();
  const dir = stack.use(await tempDir("flowctl-tmpfs-"));
  const mount = await new Deno.Command("mount", {
    // mode=0700: flowctl refuses folders others may write to (SECURITY.md), and a tmpfs root
    // is 1777 unless told otherwise.
    args: ["-t", "tmpfs", "-o", `mode=0700,${options}`, "tmpfs", dir.path],
  }).output();
  assertEquals(mount.code, 0, new TextDecoder().decode(mount.stderr));
  const removeDir = stack.move(); // mounted: the caller's disposal removes it from now on
  return {
    path: dir.path,
    async [Symbol.asyncDispose]() {
      await new Deno.Command("umount", { args: [dir.path] }).output();
      await removeDir.disposeAsync();
    },
  };
}

function mode(path: string): number {
  return (Deno.statSync(path).mode ?? 0) & 0o777;
}

Deno.test("flowctl run splits an endless line at 64 KiB in the log file", async () => {
  // 50 MiB without a newline, then the newline, then one more line.
  await using p = await shellPipeline(
    "long-line",
    `head -c ${50 * 1024 * 1024} /dev/zero | tr '\\000' a; echo; echo done`,
  );
  const result = await runFlowctl([...p.args, "--quiet"], { env: p.env });
  assertEquals(result.code, ExitCode.ok, result.stderr);
  assertStringIncludes(result.stdout, "Pipeline completed successfully");
  const lines = (await Deno.readTextFile(`${p.logDir}/sink.log`)).split("\n");
  assertEquals(lines.pop(), "", "the file ends with a newline");
  assertEquals(lines.pop(), "done");
  assertEquals(lines.length, 50 * 1024 * 1024 / cap, "the line, in pieces of the cap");
  const piece = "a".repeat(cap);
  assert(lines.every((line) => line === piece), "every piece is 64 KiB of the line");
});

Deno.test({
  name: "flowctl run keeps draining and showing a component whose log disk is full",
  ignore: !isRoot,
  async fn() {
    await using disk = await tmpfs("size=64k");
    const logDir = disk.path;
    const count = 4000; // ~400 KB: six times the disk
    await using p = await shellPipeline(
      "full-disk",
      `awk 'BEGIN { for (i = 1; i <= ${count}; i++) printf "line %05d %s\\n", i, "${
        "x".repeat(90)
      }" }'; echo done`,
    );
    const result = await runFlowctl(runArgs(p.file, logDir), { env: p.env });
    assertEquals(result.code, ExitCode.ok, result.stderr);
    assertStringIncludes(result.stdout, "Pipeline completed successfully");
    const shown = result.stdout.split("\n").filter((line) => line.startsWith("sink | line "));
    assertEquals(shown.length, count, "every line still reaches the console");
    assertStringIncludes(result.stdout, "sink | done");

    const notices = result.stderr.split("\n").filter((line) => line.includes("log file"));
    assertEquals(notices.length, 1, `one notice:\n${result.stderr}`);
    assertStringIncludes(
      notices[0] ?? "",
      `Cannot write log file "${logDir}/sink.log" of component "sink": No space left on device`,
    );

    const text = await Deno.readTextFile(`${logDir}/sink.log`);
    assert(text.endsWith("\n"), "the file ends with a whole line");
    const kept = text.split("\n").slice(0, -1);
    assert(kept.length > 0 && kept.length < count, `${kept.length} lines kept`);
    kept.forEach((line, i) => {
      assertEquals(line, `line ${String(i + 1).padStart(5, "0")} ${"x".repeat(90)}`);
    });
  },
});

Deno.test("flowctl run leaves the mode of an existing log folder, and of a symlink's target, alone", async () => {
  await using p = await shellPipeline("log-dir-mode", "echo hello");
  const { dir, file, env } = p;
  const existing = `${dir}/existing`;
  await Deno.mkdir(existing);
  await Deno.chmod(existing, 0o755);
  const target = `${dir}/target`;
  await Deno.mkdir(target);
  await Deno.chmod(target, 0o755);
  await Deno.symlink(target, `${dir}/link`);

  for (const logDir of [existing, `${dir}/link`, `${dir}/created/logs`]) {
    const result = await runFlowctl(runArgs(file, logDir), { env });
    assertEquals(result.code, ExitCode.ok, result.stderr);
    assertEquals(await Deno.readTextFile(`${logDir}/sink.log`), "hello\n");
  }
  assertEquals(mode(existing).toString(8), "755");
  assertEquals(mode(target).toString(8), "755");
  assertEquals(mode(`${dir}/created/logs`).toString(8), "700", "a folder flowctl creates is 0700");
});

Deno.test("flowctl run refuses an unwritable log folder or state folder with one line, exit 1", async (t) => {
  await using p = await shellPipeline("unwritable", `touch started`);
  const { dir, file, env } = p;
  const regular = `${dir}/regular-file`;
  await Deno.writeTextFile(regular, "");
  const expectRefused = async (
    args: string[],
    runEnv: Record<string, string>,
    message: string,
  ) => {
    const result = await runFlowctl(args, { env: runEnv });
    assertEquals(result.code, ExitCode.failure, result.stderr);
    assertEquals(result.stderr.trimEnd().split("\n"), [`Pipeline failed: ${message}`]);
    assertEquals(result.stdout, "");
    assertEquals(await Deno.stat(`${dir}/started`).then(() => true, () => false), false);
  };

  await t.step("a log folder under a regular file", async () => {
    await expectRefused(
      runArgs(file, `${regular}/logs`),
      env,
      `Cannot use the log folder "${regular}/logs": Not a directory (os error 20); pass --log-dir with a writable folder`,
    );
  });
  await t.step("a state folder under a regular file", async () => {
    await expectRefused(
      p.args,
      { FLOWCTL_STATE_DIR: `${regular}/state` },
      `Cannot use the state folder "${regular}/state": Not a directory (os error 20); set FLOWCTL_STATE_DIR to a writable folder`,
    );
  });
  if (!isRoot) return;
  await t.step("a read-only log folder", async () => {
    await using readOnly = await tmpfs("ro,size=64k");
    await expectRefused(
      runArgs(file, readOnly.path),
      env,
      `Cannot use the log folder "${readOnly.path}": Read-only file system (os error 30); pass --log-dir with a writable folder`,
    );
  });
  await t.step("a read-only state folder", async () => {
    await using readOnly = await tmpfs("ro,size=64k");
    await expectRefused(
      p.args,
      { FLOWCTL_STATE_DIR: readOnly.path },
      `Cannot use the state folder "${readOnly.path}": Read-only file system (os error 30); set FLOWCTL_STATE_DIR to a writable folder`,
    );
  });
});

Deno.test("flowctl logs finds the latest run's log folder from another folder", async () => {
  await using p = await shellPipeline("logs-elsewhere", "echo one; echo two");
  const { dir, file, env } = p;
  const runFrom = `${dir}/project`;
  const elsewhere = `${dir}/elsewhere`;
  await Deno.mkdir(runFrom);
  await Deno.mkdir(elsewhere);
  // The default log folder: logs/ under the folder flowctl runs from.
  const run = await runFlowctl(["run", file, "--control-plane-port", "0", "--quiet"], {
    env,
    cwd: runFrom,
  });
  assertEquals(run.code, ExitCode.ok, run.stderr);
  assertEquals(await Deno.readTextFile(`${runFrom}/logs/sink.log`), "one\ntwo\n");

  const logs = await runFlowctl(["logs", file], { env, cwd: elsewhere });
  assertEquals(logs.code, ExitCode.ok, logs.stderr);
  assertEquals(logs.stdout, "sink | one\nsink | two\n");
});
