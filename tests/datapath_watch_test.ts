/**
 * `run --watch` and the data path: when the file adds or removes a consumer of flowctl-sdk v1
 * servers, the data path follows it: a new edge is driven, a removed one is not any more.
 */
import { stringify } from "yaml";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import {
  FlowctlProcess,
  runFlowctl,
  type TestComponent,
  testPipeline,
  uniqueName,
  waitFor,
} from "./_helpers.ts";
import { ledgersFrom, pipelineProcesses, sdkComponent, sinkEvents } from "./_sdk_fixture.ts";

/** Writes the pipeline file `name` with `spec`, as a user edits it under `run --watch`. */
function writePipeline(file: string, name: string, spec: Record<string, unknown>): Promise<void> {
  return Deno.writeTextFile(
    file,
    stringify({ apiVersion: "flowctl/v1", kind: "Pipeline", metadata: { name }, spec }),
  );
}

function increasing(ledgers: readonly number[]): boolean {
  return ledgers.every((ledger, i) => i === 0 || ledger > (ledgers[i - 1] ?? 0));
}

async function drivenEdges(env: Record<string, string>): Promise<string[]> {
  const status = await runFlowctl(["status", "--output", "json"], { env });
  const edges: { from: string; to: string; mode: string }[] =
    JSON.parse(status.stdout).pipelines[0].edges ?? [];
  return edges.map((e) => `${e.from}>${e.to}:${e.mode}`);
}

Deno.test("run --watch: a sink added to the file is driven by the data path, and a removed one is not", async () => {
  const name = uniqueName("dp-watch");
  let file = "";
  let outputDir = "";
  await using p = await testPipeline(({ dir }) => {
    outputDir = dir;
    return { name, sources: [] };
  });
  file = p.file;
  // Each component is made once: the same definition in every version of the file.
  const src = sdkComponent("source", "src", { env: { START_LEDGER: 1, SOURCE_RATE: 300 } });
  const first = sdkComponent("sink", "first", { inputs: ["src"], outputDir });
  const second = sdkComponent("sink", "second", { inputs: ["src"], outputDir });
  const write = (sinks: TestComponent[]) => writePipeline(file, name, { sources: [src], sinks });
  await write([first]);

  await using flowctl = new FlowctlProcess([...p.args, "--watch"], { env: p.env });
  await waitFor(() => sinkEvents(outputDir, "first").length > 50, "events at first", 30_000);

  await write([first, second]);
  await flowctl.waitForOutput("Pipeline reloaded: started second (new)", 30_000);
  assertStringIncludes(
    flowctl.stdout,
    "The data path follows the changed file (edges added: src -> second); restarting data-path",
  );
  await waitFor(() => sinkEvents(outputDir, "second").length > 50, "events at second", 30_000);
  assertEquals(
    (await drivenEdges(p.env)).sort(),
    ["src>first:driven", "src>second:driven"],
  );

  await write([second]);
  await flowctl.waitForOutput("stopped first (removed)", 30_000);
  assertStringIncludes(flowctl.stdout, "(edges removed: src -> first)");
  const atSecond = sinkEvents(outputDir, "second").length;
  await waitFor(
    () => sinkEvents(outputDir, "second").length > atSecond + 50,
    "events still reaching second",
    30_000,
  );
  assertEquals(await drivenEdges(p.env), ["src>second:driven"]);

  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, 0, result.stderr);
  // Each sink's events in the source's order; the data path resumed the source from its position
  // at each restart, so nothing came twice.
  for (const sink of ["first", "second"]) {
    const ledgers = ledgersFrom(sinkEvents(outputDir, sink), "src");
    assert(increasing(ledgers), `${sink}: ledgers in order, none twice`);
  }
  assertEquals(pipelineProcesses(name), []);
});

Deno.test("run --watch: a pipeline with nothing to drive at start gets a data path once the file adds a consumer", async () => {
  const name = uniqueName("dp-watch-late");
  let outputDir = "";
  await using p = await testPipeline(({ dir }) => {
    outputDir = dir;
    return { name, sources: [] };
  });
  const src = sdkComponent("source", "src", { env: { START_LEDGER: 1, END_LEDGER: 300 } });
  const sink = sdkComponent("sink", "out", { inputs: ["src"], outputDir });
  const write = (sinks: TestComponent[]) =>
    writePipeline(p.file, name, { sources: [src], ...(sinks.length > 0 ? { sinks } : {}) });
  await write([]);
  await using flowctl = new FlowctlProcess([...p.args, "--watch"], { env: p.env });
  await flowctl.waitForOutput("Pipeline started successfully", 30_000);
  await write([sink]);
  await flowctl.waitForOutput("The data path follows the changed file (edges added: src -> out)");
  // Bounded: once the sink consumed every ledger the run completes.
  const result = await flowctl.result();
  assertEquals(result.code, 0, result.stderr);
  assertStringIncludes(result.stdout, "All sinks finished; stopping pipeline");
  assertEquals(
    ledgersFrom(sinkEvents(outputDir, "out"), "src"),
    Array.from({ length: 300 }, (_, i) => i + 1),
  );
  assertEquals(pipelineProcesses(name), []);
});

Deno.test("run --watch: a source whose START_LEDGER changed is read from the new ledger, not from where it had got to", async () => {
  const name = uniqueName("dp-watch-start");
  let outputDir = "";
  await using p = await testPipeline(({ dir }) => {
    outputDir = dir;
    return { name, sources: [] };
  });
  const sink = sdkComponent("sink", "out", { inputs: ["src"], outputDir });
  const source = sdkComponent("source", "src", { env: { START_LEDGER: 1, SOURCE_RATE: 300 } });
  const write = (start: number) =>
    writePipeline(p.file, name, {
      sources: [{ ...source, env: { ...source.env as object, START_LEDGER: String(start) } }],
      sinks: [sink],
    });
  await write(1);
  await using flowctl = new FlowctlProcess([...p.args, "--watch"], { env: p.env });
  await waitFor(() => sinkEvents(outputDir, "out").length > 50, "events at out", 30_000);
  await write(5000);
  await flowctl.waitForOutput(
    "The data path follows the changed file (components changed)",
    30_000,
  );
  const ledgers = () => ledgersFrom(sinkEvents(outputDir, "out"), "src");
  await waitFor(
    () => ledgers().filter((ledger) => ledger >= 5000).length > 50,
    "ledgers from 5000 at out",
    30_000,
  );
  flowctl.kill("SIGINT");
  assertEquals((await flowctl.result()).code, 0);
  const after = ledgers().slice(ledgers().indexOf(5000));
  assertEquals(after, Array.from({ length: after.length }, (_, i) => 5000 + i));
  // Resumed from where it had got to (ledger ~100), it would have sent 100..4999 first; only the
  // old data path, until it restarted, may have sent a few more (300 a second).
  assertEquals(ledgers().filter((ledger) => ledger > 1000 && ledger < 5000), []);
  assertEquals(pipelineProcesses(name), []);
});
