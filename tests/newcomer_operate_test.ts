/**
 * Issue 25's findings on a running pipeline, as a newcomer types the commands: the pipeline by
 * name or none at all, --profile components seen by logs, unknown ids and missing commands.
 */
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
  waitFor,
} from "./_helpers.ts";

Deno.test("status, logs, restart, exec and down find the running pipeline by name or as the only one", async () => {
  await using p = await testPipeline(({ events }) => ({
    name: uniqueName("byname"),
    sources: [fixture("src", { EVENTS_FILE: events, LINES: 2 }, { stop_grace_period: "2s" })],
    sinks: [
      fixture("debugtap", { EVENTS_FILE: events, LINES: 1 }, {
        inputs: ["src"],
        profiles: ["debug"],
        stop_grace_period: "2s",
      }),
    ],
  }));
  await using flowctl = new FlowctlProcess([...p.args, "--profile", "debug"], { env: p.env });
  await flowctl.waitForOutput("Pipeline started successfully");
  const env = p.env;
  const cwd = "/"; // far from the file: nothing is found by a relative path

  const status = await runFlowctl(["status", p.name], { env, cwd });
  assertEquals(status.code, ExitCode.ok, status.stderr);
  assertStringIncludes(status.stdout, `Pipeline ${p.name} `);
  assertStringIncludes(status.stdout, "debugtap");

  const misspelt = await runFlowctl(["status", p.name + "x"], { env, cwd });
  assertEquals(misspelt.code, ExitCode.failure);
  assertStringIncludes(
    misspelt.stderr,
    `no pipeline file or pipeline named "${p.name}x" (did you mean "${p.name}"?)`,
  );

  // logs sees the component that --profile enabled, by name and with no pipeline named.
  const logs = await runFlowctl(["logs", p.name, "debugtap"], { env, cwd });
  assertEquals(logs.code, ExitCode.ok, logs.stderr);
  assertStringIncludes(logs.stdout, "debugtap | debugtap line 1");
  const only = await runFlowctl(["logs", "debugtap", "--tail", "1"], { env, cwd });
  assertEquals(only.code, ExitCode.ok, only.stderr);
  assertStringIncludes(only.stdout, "debugtap | ");

  // An unknown component: exit 2, a suggestion and the list, whichever command names it.
  for (const command of [["logs", "srcc"], ["restart", "srcc"], ["exec", "srcc", "--", "true"]]) {
    const result = await runFlowctl(command, { env, cwd });
    assertEquals(result.code, ExitCode.usage, `${command.join(" ")}: ${result.stderr}`);
    assertStringIncludes(
      result.stderr,
      `no component "srcc" in pipeline "${p.name}" (did you mean "src"?)`,
    );
    assertStringIncludes(result.stderr, "components: src, debugtap");
  }

  const restart = await runFlowctl(["restart", "src"], { env, cwd });
  assertEquals(restart.code, ExitCode.ok, restart.stderr);
  assertEquals(restart.stdout, "Restarted component src\n");

  const missing = await runFlowctl(["exec", "src", "--", "no-such-command-here"], { env, cwd });
  assertEquals(missing.code, 127);
  assertEquals(missing.stderr, 'flowctl: command "no-such-command-here" not found\n');

  // A stopped component keeps no pid in status: the process is gone.
  const stop = await runFlowctl(["stop", "debugtap"], { env, cwd });
  assertEquals(stop.code, ExitCode.ok, stop.stderr);
  const json = await runFlowctl(["status", "--output", "json"], { env, cwd });
  const tap = JSON.parse(json.stdout).pipelines[0].components
    .find((c: { id: string }) => c.id === "debugtap");
  assertEquals([tap.state, tap.pid, tap.registered], ["stopped", undefined, false]);

  const down = await runFlowctl(["down", p.name], { env, cwd });
  assertEquals(down.code, ExitCode.ok, down.stderr);
  assertStringIncludes(down.stdout, `Pipeline ${p.name} stopped`);
  const result = await flowctl.result();
  assertEquals(result.code, ExitCode.ok, result.stderr);
  for (const pid of recordedPids(p.events)) assert(!isAlive(pid), `pid ${pid} is gone`);

  const none = await runFlowctl(["restart", "src"], { env, cwd });
  assertEquals(none.code, ExitCode.failure);
  assertStringIncludes(
    none.stderr,
    'no pipeline is running, and "src" is neither a pipeline file nor a pipeline\'s name',
  );
});

Deno.test("logs -f ends when the pipeline it follows is stopped", async () => {
  await using p = await testPipeline(({ events }) => ({
    name: uniqueName("follow"),
    sources: [fixture("src", { EVENTS_FILE: events, TICK_MS: 200 }, { stop_grace_period: "2s" })],
  }));
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  await flowctl.waitForOutput("Pipeline started successfully");
  await using follow = new FlowctlProcess(["logs", "-f"], { env: p.env });
  await follow.waitForOutput("src | src tick");
  const down = await runFlowctl(["down"], { env: p.env });
  assertEquals(down.code, ExitCode.ok, down.stderr);
  let ended = false;
  follow.child.status.then(() => ended = true);
  await waitFor(() => ended, "logs -f to end after down", 10_000);
  assertEquals((await follow.result()).code, ExitCode.ok);
  await flowctl.result();
});

Deno.test("logs --tail -1 is a bad count, not an unknown option", async () => {
  const result = await runFlowctl(["logs", "--tail", "-1"]);
  assertEquals(result.code, ExitCode.usage);
  assertStringIncludes(result.stderr, 'invalid --tail "-1": use a whole number (0 or more)');
});
