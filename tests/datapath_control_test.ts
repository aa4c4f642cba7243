/**
 * `flowctl restart|stop|start data-path` act on the data path like on a component, and
 * `flowctl status` shows it: a restart mid-stream loses only what was in its buffers (counted and
 * printed), the source resumes from where it got to, and the run completes.
 */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { FlowctlProcess, runFlowctl, uniqueName, waitFor } from "./_helpers.ts";
import { ledgersFrom, pacedSourceToSink, pipelineProcesses, sinkEvents } from "./_sdk_fixture.ts";

Deno.test("flowctl restart, stop and start of the data path mid-stream: events keep arriving, what was lost is counted, the run completes", async () => {
  const name = uniqueName("dp-control");
  const total = 3000;
  await using p = await pacedSourceToSink(name, total);
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  await waitFor(() => sinkEvents(p.dir, "out").length > 600, "600 events at the sink", 30_000);

  const restart = await runFlowctl(["restart", p.file, "data-path"], { env: p.env });
  assertEquals(restart.code, 0, restart.stderr);
  assertStringIncludes(restart.stdout, "Restarted component data-path");
  const afterRestart = sinkEvents(p.dir, "out").length;
  await waitFor(
    () => sinkEvents(p.dir, "out").length > afterRestart + 100,
    "events arriving after the restart",
    30_000,
  );

  const stop = await runFlowctl(["stop", p.file, "data-path"], { env: p.env });
  assertStringIncludes(stop.stdout, "Stopped component data-path");
  const status = await runFlowctl(["status", "--output", "json"], { env: p.env });
  const shown = JSON.parse(status.stdout).pipelines[0]?.components
    .find((c: { id: string }) => c.id === "data-path");
  assertEquals(shown?.state, "stopped", status.stdout);
  const start = await runFlowctl(["start", p.file, "data-path"], { env: p.env });
  assertStringIncludes(start.stdout, "Started component data-path");

  const result = await flowctl.result();
  assertEquals(result.code, 0, `${result.stdout}\n${result.stderr}`);
  assertStringIncludes(result.stdout, "Restarting component data-path");
  const lost = [
    ...result.stdout.matchAll(/stopped: (\d+) events in its buffers were not delivered/g),
  ]
    .map((m) => Number(m[1]));
  assertEquals(lost.length, 2, result.stdout);
  assertStringIncludes(result.stdout, "resuming from its last ledger");
  const ledgers = ledgersFrom(sinkEvents(p.dir, "out"), "src");
  assertEquals(ledgers.at(-1), total);
  // Saved at the stop: nothing is read twice, and only what was in the buffers is missing.
  assertEquals(ledgers.length, new Set(ledgers).size, "no event repeated");
  assertEquals(total - ledgers.length, lost[0]! + lost[1]!, result.stdout);
  assert(isIncreasing(ledgers), "per-producer order kept");
  assertStringIncludes(result.stdout, "Pipeline completed successfully");
  assertEquals(pipelineProcesses(name), []);
});

function isIncreasing(values: readonly number[]): boolean {
  return values.every((value, i) => i === 0 || value > values[i - 1]!);
}
