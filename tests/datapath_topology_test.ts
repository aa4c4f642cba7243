/**
 * The data path moves the events of flowctl-sdk v1 components (servers only) along `inputs`:
 * fan-out to two sinks, two sources merged into one processor, a chain of two processors; a
 * bounded pipeline completes; `validate` shows each edge; flowctl itself dials no data port.
 */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { FlowctlProcess, runFlowctl, testPipeline, uniqueName, waitFor } from "./_helpers.ts";
import { ledgersFrom, pipelineProcesses, sdkComponent, sinkEvents } from "./_sdk_fixture.ts";
import { parseTcpTable } from "../src/proc/tcp_sockets.ts";

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

Deno.test("flowctl run drives a source through a processor to two sinks (fan-out), every event in order, and completes", async () => {
  const name = uniqueName("dp-fanout");
  await using p = await testPipeline(({ dir }) => ({
    name,
    sources: [sdkComponent("source", "ledgers", { env: { START_LEDGER: 100, END_LEDGER: 1099 } })],
    processors: [sdkComponent("processor", "transform", { inputs: ["ledgers"] })],
    sinks: [
      sdkComponent("sink", "postgres", { inputs: ["transform"], outputDir: dir }),
      sdkComponent("sink", "ducklake", { inputs: ["transform"], outputDir: dir }),
    ],
  }));
  const result = await runFlowctl([...p.args, "--output", "json"], { env: p.env });
  assertEquals(result.code, 0, result.stderr);
  const events = result.stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line));
  const decided = events.filter((e) => e.event === "edge_decided");
  assertEquals(
    decided.map((e) => `${e.from}>${e.to}:${e.mode}`).sort(),
    ["ledgers>transform:driven", "transform>ducklake:driven", "transform>postgres:driven"],
  );
  const stats = events.filter((e) => e.event === "edge_stats");
  assert(stats.length >= 3, "edge_stats events for each driven edge");
  const last = stats.filter((e) => e.from === "transform" && e.to === "postgres").at(-1);
  assertEquals(last.events, 1000);
  assertEquals(last.mode, "driven");
  assert(last.bytes > 1000 * 64, `bytes counted: ${last.bytes}`);
  assert(events.some((e) => e.event === "pipeline_completed"), "the pipeline completed");
  for (const sink of ["postgres", "ducklake"]) {
    const consumed = sinkEvents(p.dir, sink);
    assertEquals(ledgersFrom(consumed, "ledgers"), range(100, 1099));
    assert(consumed.every(([, type]) => type === "stellar.ledger.v1>transform"));
  }
  assertEquals(pipelineProcesses(name), []);
});

Deno.test("flowctl run merges two sources into one processor, each source's order kept", async () => {
  const name = uniqueName("dp-fanin");
  await using p = await testPipeline(({ dir }) => ({
    name,
    sources: [
      sdkComponent("source", "east", { env: { START_LEDGER: 1, END_LEDGER: 400 } }),
      sdkComponent("source", "west", { env: { START_LEDGER: 5000, END_LEDGER: 5299 } }),
    ],
    processors: [sdkComponent("processor", "join", { inputs: ["east", "west"] })],
    sinks: [sdkComponent("sink", "store", { inputs: ["join"], outputDir: dir })],
  }));
  const result = await runFlowctl(p.args, { env: p.env });
  assertEquals(result.code, 0, result.stderr);
  assertStringIncludes(result.stdout, "All sinks finished; stopping pipeline");
  const consumed = sinkEvents(p.dir, "store");
  assertEquals(consumed.length, 700);
  assertEquals(ledgersFrom(consumed, "east"), range(1, 400));
  assertEquals(ledgersFrom(consumed, "west"), range(5000, 5299));
  assertEquals(pipelineProcesses(name), []);
});

Deno.test("flowctl run drives a chain of two processors in order", async () => {
  const name = uniqueName("dp-chain");
  await using p = await testPipeline(({ dir }) => ({
    name,
    sources: [sdkComponent("source", "src", { env: { START_LEDGER: 1, END_LEDGER: 500 } })],
    processors: [
      sdkComponent("processor", "first", { inputs: ["src"] }),
      sdkComponent("processor", "second", { inputs: ["first"] }),
    ],
    sinks: [sdkComponent("sink", "out", { inputs: ["second"], outputDir: dir })],
  }));
  const result = await runFlowctl(p.args, { env: p.env });
  assertEquals(result.code, 0, result.stderr);
  const consumed = sinkEvents(p.dir, "out");
  assertEquals(ledgersFrom(consumed, "src"), range(1, 500));
  assert(consumed.every(([, type]) => type === "stellar.ledger.v1>first>second"));
  assertStringIncludes(result.stdout, "Edge first -> second: driven");
  assertEquals(pipelineProcesses(name), []);
});

Deno.test("a sink is sent only the event types it registered (input_event_types, as the Go flowctl filters); the rest are counted as filtered", async () => {
  const name = uniqueName("dp-types");
  await using p = await testPipeline(({ dir }) => ({
    name,
    sources: [sdkComponent("source", "src", {
      env: { START_LEDGER: 1, END_LEDGER: 400, EVENT_TYPES: "ledger.a,ledger.b" },
    })],
    processors: [sdkComponent("processor", "proc", { inputs: ["src"] })],
    sinks: [
      sdkComponent("sink", "every", { inputs: ["proc"], outputDir: dir }),
      sdkComponent("sink", "only-a", {
        inputs: ["proc"],
        outputDir: dir,
        env: { INPUT_EVENT_TYPES: "ledger.a>proc" },
      }),
      sdkComponent("sink", "unmatched", {
        inputs: ["proc"],
        outputDir: dir,
        // Compared with the event's type exactly: the type before the processor does not match.
        env: { INPUT_EVENT_TYPES: "ledger.a,LEDGER.B>PROC" },
      }),
    ],
  }));
  const result = await runFlowctl([...p.args, "--output", "json"], { env: p.env });
  assertEquals(result.code, 0, result.stderr);
  const events = result.stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line));
  assert(events.some((e) => e.event === "pipeline_completed"), "the pipeline completed");
  const last = (to: string) =>
    events.filter((e) => e.event === "edge_stats" && e.from === "proc" && e.to === to).at(-1);
  assertEquals([last("every").events, last("every").filtered], [400, 0]);
  assertEquals([last("only-a").events, last("only-a").filtered], [200, 200]);
  assertEquals([last("unmatched").events, last("unmatched").filtered], [0, 400]);
  assertEquals(ledgersFrom(sinkEvents(p.dir, "every"), "src"), range(1, 400));
  const onlyA = sinkEvents(p.dir, "only-a");
  assertEquals(ledgersFrom(onlyA, "src"), range(1, 200).map((i) => i * 2));
  assert(onlyA.every(([, type]) => type === "ledger.a>proc"), "only ledger.a>proc events");
  assertEquals(sinkEvents(p.dir, "unmatched"), []);
  const logs = await runFlowctl(["logs", p.file, "data-path", "--log-dir", p.logDir]);
  assertStringIncludes(
    logs.stdout,
    `sink "only-a" is sent only events of type "ledger.a>proc" (its registered input_event_types)`,
  );
  assertStringIncludes(
    logs.stdout,
    `edge proc -> only-a: 200 events not sent, their type is not in "only-a"'s input_event_types`,
  );
  assertEquals(pipelineProcesses(name), []);
});

Deno.test("components that register as v1 servers but do not serve the v1 service by reflection get no data path", async () => {
  const name = uniqueName("dp-direct");
  await using p = await testPipeline(({ dir }) => ({
    name,
    sources: [sdkComponent("source", "src", { env: { END_LEDGER: 10, NO_REFLECTION: 1 } })],
    sinks: [sdkComponent("sink", "out", { inputs: ["src"], outputDir: dir })],
  }));
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  await flowctl.waitForOutput("Edge src -> out: direct", 30_000);
  assertStringIncludes(flowctl.stdout, '("src" answered no gRPC reflection at :');
  const status = await runFlowctl(["status", "--output", "json"], { env: p.env });
  const view = JSON.parse(status.stdout).pipelines[0];
  assertEquals(view.components.map((c: { id: string }) => c.id), ["src", "out"]);
  assertEquals(view.edges.map((e: { mode: string }) => e.mode), ["direct"]);
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.stdout.includes("Starting component: data-path"), false);
  assertEquals(sinkEvents(p.dir, "out"), []);
  assertEquals(pipelineProcesses(name), []);
});

Deno.test("validate shows each edge: decided at run, or direct and why", async () => {
  await using p = await testPipeline({
    name: uniqueName("dp-validate"),
    sources: [sdkComponent("source", "src")],
    processors: [sdkComponent("processor", "proc", { inputs: ["src"] })],
    sinks: [
      sdkComponent("sink", "kept", { inputs: ["proc"] }),
      sdkComponent("sink", "own", { inputs: ["proc"], extra: { data_path: "direct" } }),
    ],
  });
  const text = await runFlowctl(["validate", p.file]);
  assertEquals(text.code, 0, text.stderr);
  assert(/src -> proc\s+decided at run\s+\(driven if both ends register/.test(text.stdout));
  assert(/proc -> own\s+direct\s+\(data_path: direct on "own"\)/.test(text.stdout), text.stdout);
  const json = JSON.parse((await runFlowctl(["validate", p.file, "--output", "json"])).stdout);
  assertEquals(
    json.edges.map((e: { from: string; to: string; mode: string }) =>
      `${e.from}>${e.to}:${e.mode}`
    ),
    ["src>proc:at-run", "proc>kept:at-run", "proc>own:direct"],
  );
  const bad = await writeBadDataPath(p.dir);
  const refused = await runFlowctl(["validate", bad]);
  assertEquals(refused.code, 2);
  assertStringIncludes(refused.stderr, 'invalid data_path "sometimes": use "driven" or "direct"');
});

async function writeBadDataPath(dir: string): Promise<string> {
  const file = `${dir}/bad.yaml`;
  await Deno.writeTextFile(
    file,
    `apiVersion: flowctl/v1
kind: Pipeline
metadata: { name: bad }
spec:
  sources:
    - id: src
      command: [node]
      data_path: sometimes
`,
  );
  return file;
}

Deno.test("while events move, status shows rates per edge and flowctl holds no connection to a component's data port", async () => {
  const name = uniqueName("dp-sockets");
  const source = sdkComponent("source", "src", { env: { SOURCE_RATE: 2000 } });
  const processor = sdkComponent("processor", "proc", { inputs: ["src"] });
  await using p = await testPipeline(({ dir }) => ({
    name,
    sources: [source],
    processors: [processor],
    sinks: [sdkComponent("sink", "out", { inputs: ["proc"], outputDir: dir })],
  }));
  const dataPorts = new Set<number>();
  const text = await Deno.readTextFile(p.file);
  for (const match of text.matchAll(/(?:GRPC_PORT: "?|PORT: "?:)(\d+)/g)) {
    dataPorts.add(Number(match[1]));
  }
  assertEquals(dataPorts.size, 3, text);
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  await waitFor(() => sinkEvents(p.dir, "out").length > 1000, "events at the sink", 30_000);

  const status = await runFlowctl(["status"], { env: p.env });
  assert(/src -> proc\s+driven\s+\d+ events, \d+ events\/s/.test(status.stdout), status.stdout);
  assert(/data-path\s+running/.test(status.stdout), status.stdout);

  const flowctlPeers = await remotePorts(flowctl.child.pid);
  const dataPathPid = JSON.parse(
    (await runFlowctl(["status", "--output", "json"], { env: p.env })).stdout,
  ).pipelines[0].components.find((c: { id: string }) => c.id === "data-path").pid;
  const dataPathPeers = await remotePorts(dataPathPid);
  assert(
    [...dataPorts].every((port) => dataPathPeers.has(port)),
    `the data path dials every data port (${[...dataPathPeers]})`,
  );
  assertEquals([...dataPorts].filter((port) => flowctlPeers.has(port)), []);

  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, 0, result.stderr);
  const stopping = result.stdout.split("\n").filter((l) => l.startsWith("Stopping component"));
  assertEquals(stopping[0], "Stopping component: data-path");
  assertStringIncludes(result.stdout, "Pipeline stopped successfully");
  assertEquals(pipelineProcesses(name), []);
  const logs = await runFlowctl(["logs", p.file, "data-path", "--log-dir", p.logDir]);
  assertEquals(logs.code, 0, logs.stderr);
  assertStringIncludes(logs.stdout, "data-path | driving src, proc, out");
  assertEquals(logs.stdout.includes("@flowctl-data-path"), false, "records stay out of logs");
});

/** The remote ports of the TCP connections process `pid` holds. */
async function remotePorts(pid: number): Promise<Set<number>> {
  const inodes = new Set<number>();
  for await (const fd of Deno.readDir(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(await Deno.readLink(`/proc/${pid}/fd/${fd.name}`));
      if (match) inodes.add(Number(match[1]));
    } catch {
      // closed while we looked
    }
  }
  const ports = new Set<number>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const row of parseTcpTable(await Deno.readTextFile(table))) {
      if (inodes.has(row.inode)) ports.add(row.remote.port);
    }
  }
  return ports;
}
