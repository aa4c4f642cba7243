/**
 * State files, pids and the admin socket are not believed as found: a pid is signalled only
 * when start time, the run's mark and owner all match; the admin socket is used only when it is
 * the user's own and private, caps a request's size, and a stale one goes with `down`.
 */
import { ExitCode } from "../src/cli/exit_code.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import {
  fixture,
  FlowctlProcess,
  isAlive,
  recordedPids,
  runFlowctl,
  testPipeline,
  uniqueName,
  waitFor,
} from "./_helpers.ts";

function startTimeOf(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
}

/** A process of ours that a state file may name: `sleep`, in a process group of its own. */
function victim(): Deno.ChildProcess {
  return new Deno.Command("sleep", { args: ["60"], detached: true }).spawn();
}

async function stopVictim(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch {
    // already gone
  }
  await child.status;
}

/** A state file of a dead run whose component `src` is recorded as `pid`. */
function stateNaming(
  p: { name: string; file: string; logDir: string },
  flowctl: { pid: number; startTime?: number },
  component?: { pid: number; pidStartTime: number },
) {
  return JSON.stringify({
    version: 1,
    pipeline: p.name,
    file: p.file,
    runId: crypto.randomUUID(),
    orchestrator: "process",
    flowctl,
    logDir: p.logDir,
    updatedAt: Date.now(),
    components: component
      ? [{ id: "src", kind: "source", phase: "running", restarts: 0, ...component }]
      : [],
  });
}

Deno.test("down signals a recorded pid only when start time and run mark match (2)", async () => {
  await using p = await testPipeline({ name: uniqueName("pidmark"), sources: [fixture("src")] });
  const stateDir = p.env.FLOWCTL_STATE_DIR!;
  await Deno.mkdir(stateDir, { mode: 0o700 });
  const other = victim();
  try {
    // The pid and its start time match (as after a reboot or a pid reuse); the mark does not.
    await Deno.writeTextFile(
      `${stateDir}/${p.name}.json`,
      stateNaming(p, { pid: 999_999_999, startTime: 1 }, {
        pid: other.pid,
        pidStartTime: startTimeOf(other.pid),
      }),
      { mode: 0o600 },
    );
    const down = await runFlowctl(["down", p.file], { env: p.env });
    assertEquals(down.code, ExitCode.ok, down.stderr);
    assertStringIncludes(
      down.stdout,
      `Component src was already gone: pid ${other.pid} is not the process flowctl started`,
    );
    assert(isAlive(other.pid), "the unrelated process still runs");
  } finally {
    await stopVictim(other);
  }
});

Deno.test("a flowctl.pid without a start time is never signalled (2)", async () => {
  await using p = await testPipeline({ name: uniqueName("nostart"), sources: [fixture("src")] });
  const stateDir = p.env.FLOWCTL_STATE_DIR!;
  await Deno.mkdir(stateDir, { mode: 0o700 });
  const other = victim();
  try {
    await Deno.writeTextFile(`${stateDir}/${p.name}.json`, stateNaming(p, { pid: other.pid }), {
      mode: 0o600,
    });
    const down = await runFlowctl(["down", p.file], { env: p.env });
    assertEquals(down.code, ExitCode.ok, down.stderr);
    assertEquals(down.stdout.includes("Stopping the running flowctl"), false, down.stdout);
    assert(isAlive(other.pid), "the process named as flowctl still runs");
  } finally {
    await stopVictim(other);
  }
});

Deno.test("the admin socket: refused unless private and ours, requests capped, stale one removed by down (2, 13)", async (t) => {
  await using p = await testPipeline((paths) => ({
    name: uniqueName("admin"),
    sources: [fixture("src", { EVENTS_FILE: paths.events })],
  }));
  const socket = `${p.env.FLOWCTL_STATE_DIR}/${p.name}.sock`;
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  await flowctl.waitForOutput("Pipeline started successfully");

  await t.step("a request over 64 KiB is refused with 413, and the run carries on", async () => {
    using client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
    const response = await fetch("http://flowctl/v1/control", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: `{"action":"restart","components":["${"x".repeat(8 * 1024 * 1024)}"]}`,
      client,
    });
    await response.body?.cancel();
    assertEquals(response.status, 413);
    const restart = await runFlowctl(["restart", p.file, "src"], { env: p.env });
    assertEquals(restart.code, ExitCode.ok, restart.stderr);
  });

  await t.step("a socket others may reach is refused before anything is sent", async () => {
    await Deno.chmod(socket, 0o666);
    const exec = await runFlowctl(["exec", p.file, "src", "--", "true"], { env: p.env });
    assertEquals(exec.code, ExitCode.failure, exec.stderr);
    assertEquals(exec.stderr.trim().split("\n").length, 1, exec.stderr);
    assertStringIncludes(exec.stderr, `Refusing to use "${socket}": others may connect to it`);
    await Deno.chmod(socket, 0o600);
  });

  await t.step("a socket planted in its place is never talked to", async () => {
    await Deno.rename(socket, `${socket}.real`);
    const seen: string[] = [];
    const planted = Deno.serve({ path: socket, onListen: () => {} }, (request) => {
      seen.push(new URL(request.url).pathname);
      return Response.json({ component: "src", orchestrator: "process", workingDir: "/", env: {} });
    });
    try {
      await Deno.chown(socket, 65534, 65534);
      await Deno.chmod(socket, 0o600);
      const exec = await runFlowctl(["exec", p.file, "src", "--", "true"], { env: p.env });
      assertEquals(exec.code, ExitCode.failure, exec.stderr);
      assertStringIncludes(exec.stderr, "it is owned by uid 65534");
      assertEquals(seen, [], "the planted socket got no request");
    } finally {
      await planted.shutdown();
      await Deno.rename(`${socket}.real`, socket);
    }
  });

  await t.step("after kill -9, down removes the stale socket", async () => {
    await waitFor(() => recordedPids(p.events).length >= 1, "the source's pid");
    flowctl.kill("SIGKILL");
    await flowctl.result();
    assert(await Deno.lstat(socket).then(() => true, () => false), "kill -9 left the socket");
    const down = await runFlowctl(["down", p.file], { env: p.env });
    assertEquals(down.code, ExitCode.ok, down.stderr);
    assertEquals(await Deno.lstat(socket).then(() => true, () => false), false, "socket removed");
    for (const pid of recordedPids(p.events)) assert(!isAlive(pid), `pid ${pid} is gone`);
  });
});
