/**
 * The data path when things go wrong: a processor killed with SIGKILL mid-stream is re-attached
 * once restarted (what the broken call lost is counted and printed); a sink that never reads
 * holds its producers back through flow control without unbounded memory, and Ctrl+C still
 * stops everything; a data path killed with SIGKILL is restarted and the sources resume.
 */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { FlowctlProcess, runFlowctl, testPipeline, uniqueName, waitFor } from "./_helpers.ts";
import {
  componentPid,
  ledgersFrom,
  pacedSourceToSink,
  pipelineProcesses,
  sdkComponent,
  sinkEvents,
} from "./_sdk_fixture.ts";

interface StatusComponent {
  id: string;
  pid?: number;
  restarts: number;
  rssBytes?: number;
}

async function components(env: Record<string, string>): Promise<StatusComponent[]> {
  const status = await runFlowctl(["status", "--output", "json"], { env });
  return JSON.parse(status.stdout).pipelines[0]?.components ?? [];
}

function pidOf(name: string, id: string): number {
  const pid = componentPid(name, id);
  if (pid === undefined) throw new Error(`no process of "${id}" in pipeline "${name}"`);
  return pid;
}

function isIncreasing(values: readonly number[]): boolean {
  return values.every((value, i) => i === 0 || value > values[i - 1]!);
}

Deno.test("a processor killed with SIGKILL mid-stream is re-attached once restarted; the events its broken call took are counted as lost", async () => {
  const name = uniqueName("dp-kill-proc");
  const total = 3000;
  await using p = await testPipeline(({ dir }) => ({
    name,
    sources: [sdkComponent("source", "src", {
      env: { START_LEDGER: 1, END_LEDGER: total, SOURCE_RATE: 400 },
    })],
    processors: [sdkComponent("processor", "proc", {
      inputs: ["src"],
      extra: { restart: "on-failure" },
    })],
    sinks: [sdkComponent("sink", "out", { inputs: ["proc"], outputDir: dir })],
  }));
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  await waitFor(() => sinkEvents(p.dir, "out").length > 100, "events at the sink", 30_000);
  Deno.kill(pidOf(name, "proc"), "SIGKILL");
  const result = await flowctl.result();
  assertEquals(result.code, 0, `${result.stdout}\n${result.stderr}`);
  assertStringIncludes(result.stdout, "Restarting component proc");
  const reattached =
    /processor "proc" re-attached \(call 2\): (\d+) events the broken call took were not answered/
      .exec(result.stdout);
  assert(reattached, result.stdout);
  const lost = Number(reattached[1]);
  const ledgers = ledgersFrom(sinkEvents(p.dir, "out"), "src");
  assert(isIncreasing(ledgers), "order kept, nothing repeated");
  assertEquals(ledgers.at(-1), total);
  assertEquals(total - ledgers.length, lost, "exactly the unanswered events are missing");
  assertStringIncludes(result.stdout, "Pipeline completed successfully");
  assertEquals(pipelineProcesses(name), []);
});

Deno.test("a sink that goes away for good does not stall the other: it keeps a bounded buffer, the rest is dropped and counted, and the run completes", async () => {
  const name = uniqueName("dp-gone-sink");
  const total = 3000;
  await using p = await testPipeline(({ dir }) => ({
    name,
    sources: [sdkComponent("source", "src", {
      env: { START_LEDGER: 1, END_LEDGER: total, SOURCE_RATE: 600 },
    })],
    sinks: [
      sdkComponent("sink", "gone", { inputs: ["src"], outputDir: dir }),
      sdkComponent("sink", "kept", { inputs: ["src"], outputDir: dir }),
    ],
  }));
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  await waitFor(() => sinkEvents(p.dir, "gone").length > 100, "events at the sinks", 30_000);
  // SIGTERM: the fixture exits 0, a sink that finished as far as its supervisor is concerned.
  Deno.kill(pidOf(name, "gone"), "SIGTERM");
  // Without the bounded buffer the source would wait for "gone" forever and this times out.
  await flowctl.waitForOutput("Pipeline completed successfully", 60_000);
  const result = await flowctl.result();
  assertEquals(result.code, 0, `${result.stdout}\n${result.stderr}`);
  assertEquals(ledgersFrom(sinkEvents(p.dir, "kept"), "src").length, total);
  assertStringIncludes(result.stdout, 'sink "gone" call broke');
  const dropped = /edge src -> gone: (\d+) events dropped while "gone" was down/.exec(
    result.stdout,
  );
  assert(dropped && Number(dropped[1]) > 0, result.stdout);
  assertStringIncludes(result.stdout, "Pipeline completed successfully");
  assertEquals(pipelineProcesses(name), []);
});

Deno.test("a sink that never reads holds the source back through flow control, the other sink gets a bounded share, and Ctrl+C stops the run", async () => {
  const name = uniqueName("dp-stuck-sink");
  await using p = await testPipeline(({ dir }) => ({
    name,
    sources: [sdkComponent("source", "src", {
      env: { START_LEDGER: 1, END_LEDGER: 1_000_000, PAYLOAD_BYTES: 1024 },
    })],
    sinks: [
      sdkComponent("sink", "stuck", { inputs: ["src"], env: { SINK_NEVER_READ: 1 } }),
      sdkComponent("sink", "fine", { inputs: ["src"], outputDir: dir }),
    ],
  }));
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  await waitFor(() => sinkEvents(p.dir, "fine").length > 0, "events at the good sink", 30_000);
  // Wait until the good sink stops receiving: the stuck one holds the source back.
  let seen = -1;
  await waitFor(
    async () => {
      const now = sinkEvents(p.dir, "fine").length;
      const settled = now === seen;
      seen = now;
      if (!settled) await new Promise((resolve) => setTimeout(resolve, 500));
      return settled;
    },
    "the good sink to stop receiving",
    30_000,
  );
  assert(seen < 100_000, `the source was held back (${seen} of 1000000 events moved)`);
  const dataPath = (await components(p.env)).find((c) => c.id === "data-path");
  assert(dataPath?.rssBytes !== undefined && dataPath.rssBytes < 400 * 1024 * 1024);
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, 0, result.stderr);
  assertStringIncludes(result.stdout, "Pipeline stopped successfully");
  assertEquals(pipelineProcesses(name), []);
});

Deno.test("a data path killed with SIGKILL is restarted with backoff and the source resumes from the ledger it had got to", async () => {
  const name = uniqueName("dp-kill-dp");
  const total = 3000;
  await using p = await pacedSourceToSink(name, total);
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  await waitFor(() => sinkEvents(p.dir, "out").length > 1200, "1200 events at the sink", 30_000);
  Deno.kill(pidOf(name, "data-path"), "SIGKILL");
  await flowctl.waitForOutput("Restarting component data-path");
  const result = await flowctl.result();
  assertEquals(result.code, 0, `${result.stdout}\n${result.stderr}`);
  assertStringIncludes(result.stdout, "resuming from its last ledger");
  const ledgers = ledgersFrom(sinkEvents(p.dir, "out"), "src");
  assertEquals(ledgers.at(-1), total);
  const repeated = ledgers.length - new Set(ledgers).size;
  assert(repeated < 800, `resumed, not started over: ${repeated} events repeated`);
  assertStringIncludes(result.stdout, "Pipeline completed successfully");
  assertEquals(pipelineProcesses(name), []);
});
