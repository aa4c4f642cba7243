/** Issue 25's wording findings, each as the line a user reads and the exit code. */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { ExitCode } from "../src/cli/exit_code.ts";
import {
  fixture,
  FlowctlProcess,
  isAlive,
  recordedPids,
  runFlowctl,
  testPipeline,
  uniqueName,
} from "./_helpers.ts";

Deno.test("a misspelt command or option suggests the closest one; schema refuses an argument", async () => {
  const typo = await runFlowctl(["stauts"]);
  assertEquals(typo.code, ExitCode.usage);
  assertStringIncludes(typo.stderr, 'unknown command "stauts"');
  assertStringIncludes(typo.stderr, 'did you mean "flowctl status"?');

  const option = await runFlowctl(["logs", "--folow"]);
  assertEquals(option.code, ExitCode.usage);
  assertStringIncludes(option.stderr, `Unknown option '--folow' (did you mean "--follow"?)`);

  const schema = await runFlowctl(["schema", "extra"]);
  assertEquals(schema.code, ExitCode.usage);
  assertStringIncludes(schema.stderr, 'unexpected argument "extra"');
  assertEquals(schema.stdout, "");
});

Deno.test("a pipeline without sinks completes when its components finish, and says so", async () => {
  await using p = await testPipeline({
    name: uniqueName("nosinks"),
    sources: [fixture("job", { EXIT_AFTER_MS: 10 }, { restart: "no" })],
  });
  const result = await runFlowctl(p.args, { env: p.env });
  assertEquals(result.code, ExitCode.ok, result.stderr);
  assertStringIncludes(result.stdout, "All components finished; stopping pipeline");
  assertEquals(result.stdout.includes("All sinks"), false, result.stdout);
});

Deno.test('one restart is counted as one: "restarted 1 time"', async () => {
  await using p = await testPipeline({
    name: uniqueName("plural"),
    sources: [
      fixture("crash", { EXIT_AFTER_MS: 10, EXIT_CODE: 3 }, {
        restart: "on-failure",
        max_restarts: 1,
      }),
    ],
  });
  const result = await runFlowctl(p.args, { env: p.env });
  assertEquals(result.code, ExitCode.failure, result.stdout);
  assertStringIncludes(result.stderr, "was restarted 1 time already (max_restarts: 1)");
});

Deno.test("a second run names flowctl down; down after kill -9 leaves no admin socket", async () => {
  await using p = await testPipeline(({ events }) => ({
    name: uniqueName("twice"),
    sources: [fixture("src", { EVENTS_FILE: events }, { stop_grace_period: "2s" })],
  }));
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  await flowctl.waitForOutput("Pipeline started successfully");
  const second = await runFlowctl(p.args, { env: p.env });
  assertEquals(second.code, ExitCode.failure, second.stdout);
  assertStringIncludes(second.stderr, `stop it first with "flowctl down ${p.name}"`);

  const socket = `${p.env.FLOWCTL_STATE_DIR}/${p.name}.sock`;
  assert((await Deno.stat(socket)).isSocket, "the run listens on its admin socket");
  flowctl.kill("SIGKILL");
  await flowctl.result();
  const down = await runFlowctl(["down", p.name], { env: p.env });
  assertEquals(down.code, ExitCode.ok, down.stderr);
  assertStringIncludes(down.stdout, "Stopped component src");
  const left = await Deno.stat(socket).then(() => true, () => false);
  assertEquals(left, false, "the admin socket of the killed run is gone");
  for (const pid of recordedPids(p.events)) assert(!isAlive(pid), `pid ${pid} is gone`);
});
