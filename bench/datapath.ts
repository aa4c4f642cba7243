/**
 * The data path's throughput and memory. In one run:
 * - events/s through source → processor → two sinks (flowctl-sdk v1 fixture components, Node
 *   grpc-js) driven by `flowctl run` (its data path process), against a direct client that drives
 *   the same components from this one process with the same gRPC library. Target: ≥ 0.8×.
 * - peak RSS of the data path process while the sink is 100× slower than the source (back-pressure:
 *   memory stays flat, the source is held back).
 * BENCH_EVENTS (default 10000) events of BENCH_PAYLOAD bytes (default 256), BENCH_RUNS (3)
 * alternating runs of each, medians.
 */
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { SourceService } from "../src/controlplane/gen/flowctl/v1/source_pb.ts";
import { ProcessorService } from "../src/controlplane/gen/flowctl/v1/processor_pb.ts";
import { ConsumerService } from "../src/controlplane/gen/flowctl/v1/consumer_pb.ts";
import type { Event } from "../src/controlplane/gen/flowctl/v1/event_pb.ts";
import { EdgeQueue, mergeQueues } from "../src/datapath/edge_queue.ts";
import { freePorts, MAIN, median, report, ROOT } from "./_bench.ts";

const EVENTS = Number(Deno.env.get("BENCH_EVENTS") ?? "10000");
const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? "3");
const PAYLOAD = Number(Deno.env.get("BENCH_PAYLOAD") ?? "256");
const FIXTURE = `${ROOT}tests/fixtures/sdk_component.cjs`;

type Role = "source" | "processor" | "sink";
const ROLES: [string, Role][] = [["src", "source"], ["proc", "processor"], ["a", "sink"], [
  "b",
  "sink",
]];

function envOf(id: string, role: Role, port: number, extra: Record<string, string>) {
  return {
    ...(role === "source"
      ? { FLOWCTL_COMPONENT_ID: id, GRPC_PORT: String(port) }
      : { COMPONENT_ID: id, PORT: `:${port}` }),
    PAYLOAD_BYTES: String(PAYLOAD),
    ...extra,
  };
}

/** Events/s of the direct client: the components started here, driven from this process. */
async function direct(): Promise<number> {
  const ports = freePorts(4);
  const children = ROLES.map(([id, role], i) =>
    new Deno.Command("node", {
      args: [FIXTURE, role],
      env: envOf(id, role, ports[i]!, { ENABLE_FLOWCTL: "false" }),
      stdout: "null",
      stderr: "null",
    }).spawn()
  );
  const managers: Http2SessionManager[] = [];
  const client = <T extends Parameters<typeof createClient>[0]>(service: T, port: number) => {
    const manager = new Http2SessionManager(`http://127.0.0.1:${port}`);
    managers.push(manager);
    return createClient(
      service,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, sessionManager: manager }),
    );
  };
  try {
    await Promise.all(ports.map(waitForPort));
    const source: Client<typeof SourceService> = client(SourceService, ports[0]!);
    const processor: Client<typeof ProcessorService> = client(ProcessorService, ports[1]!);
    const sinks = [client(ConsumerService, ports[2]!), client(ConsumerService, ports[3]!)];
    const toProcessor = new EdgeQueue<Event>(256);
    const toSinks = [new EdgeQueue<Event>(256), new EdgeQueue<Event>(256)];
    const signal = new AbortController().signal;
    const started = performance.now();
    const read = (async () => {
      const params = { start_ledger: "1", end_ledger: String(EVENTS) };
      for await (const event of source.streamEvents({ params })) await toProcessor.push(event);
      toProcessor.close();
    })();
    const process = (async () => {
      for await (const event of processor.process(mergeQueues([toProcessor], signal))) {
        for (const queue of toSinks) await queue.push(event);
      }
      for (const queue of toSinks) queue.close();
    })();
    const consumed = await Promise.all(
      sinks.map((sink, i) => sink.consume(mergeQueues([toSinks[i]!], signal))),
    );
    await Promise.all([read, process]);
    const seconds = (performance.now() - started) / 1000;
    if (consumed.some((r) => Number(r.eventsConsumed) !== EVENTS)) {
      throw new Error(`direct: sinks consumed ${consumed.map((r) => r.eventsConsumed)}`);
    }
    return EVENTS / seconds;
  } finally {
    for (const manager of managers) manager.abort();
    for (const child of children) child.kill("SIGTERM");
    await Promise.all(children.map((child) => child.status));
  }
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  throw new Error(`port ${port} never opened`);
}

/** A pipeline file of the four components, `extra` env per role. */
async function pipelineFile(dir: string, name: string, extra: Partial<Record<Role, string>>) {
  const ports = freePorts(4);
  const lines = [`apiVersion: flowctl/v1\nkind: Pipeline\nmetadata: { name: ${name} }\nspec:`];
  const section = { source: "sources", processor: "processors", sink: "sinks" };
  let last = "";
  ROLES.forEach(([id, role], i) => {
    if (section[role] !== last) lines.push(`  ${last = section[role]}:`);
    const env = envOf(id, role, ports[i]!, {});
    const inputs = role === "processor" ? ["src"] : role === "sink" ? ["proc"] : [];
    lines.push(
      `    - id: ${id}\n      command: [node, ${JSON.stringify(FIXTURE)}, ${role}]` +
        (inputs.length ? `\n      inputs: [${inputs.join(", ")}]` : "") +
        `\n      env: ${JSON.stringify({ ...env, ...parseEnv(extra[role]) })}`,
    );
  });
  const file = `${dir}/${name}.yaml`;
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  return file;
}

function parseEnv(text: string | undefined): Record<string, string> {
  return Object.fromEntries((text ?? "").split(" ").filter(Boolean).map((kv) => kv.split("=")));
}

function flowctl(file: string, dir: string, extra: string[] = []) {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      MAIN,
      "run",
      file,
      "--log-dir",
      `${dir}/logs`,
      "--control-plane-port",
      "0",
      "--quiet",
      ...extra,
    ],
    env: { FLOWCTL_STATE_DIR: `${dir}/state`, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  });
}

/**
 * Events/s through flowctl's data path, two ways:
 * - moving: from the first edge_stats event that counts delivered events at a sink to the run's
 *   completion, the figure comparable to the direct client, whose clock also starts with its
 *   modules loaded and its calls about to flow;
 * - end to end: from the edge decisions to the run's completion, which adds the data path's own
 *   start (a Deno process loading the gRPC stack, then dialling the components).
 */
async function driven(dir: string): Promise<{ moving: number; endToEnd: number; startMs: number }> {
  const file = await pipelineFile(dir, "bench-datapath", {
    source: `START_LEDGER=1 END_LEDGER=${EVENTS}`,
  });
  const { code, stdout, stderr } = await flowctl(file, dir, ["--output", "json"]).output();
  const lines = new TextDecoder().decode(stdout).split("\n").filter(Boolean)
    .map((line) => JSON.parse(line));
  if (code !== 0) throw new Error(`flowctl run failed: ${new TextDecoder().decode(stderr)}`);
  const decided = Date.parse(lines.find((e) => e.event === "edge_decided").time);
  const done = Date.parse(lines.find((e) => e.event === "pipeline_stopping").time);
  const moving = lines.find((e) => e.event === "edge_stats" && e.to === "a" && e.events > 0);
  const movingAt = Date.parse(moving.time);
  return {
    moving: (EVENTS - moving.events) / ((done - movingAt) / 1000),
    endToEnd: EVENTS / ((done - decided) / 1000),
    // Less the first sample's events at the moving rate: about when the first event arrived.
    startMs: movingAt - decided - moving.events / ((EVENTS - moving.events) / (done - movingAt)),
  };
}

/** Peak RSS (VmHWM) of the data path while the sink is 100× slower than the source. */
async function slowSink(dir: string): Promise<{ peakKiB: number; moved: number }> {
  const file = await pipelineFile(dir, "bench-datapath-slow", {
    source: "START_LEDGER=1 SOURCE_RATE=2000 PAYLOAD_BYTES=4096",
    sink: "SINK_DELAY_MS=50",
  });
  const child = flowctl(file, dir).spawn();
  let peakKiB = 0;
  let moved = 0;
  try {
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const pid = dataPathPid(dir);
      if (pid === undefined) continue;
      const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
      peakKiB = Math.max(peakKiB, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
      moved = edgeEvents(dir);
    }
  } finally {
    child.kill("SIGINT");
    await child.output();
  }
  return { peakKiB, moved };
}

function dataPathPid(dir: string): number | undefined {
  try {
    const state = JSON.parse(Deno.readTextFileSync(`${dir}/state/bench-datapath-slow.json`));
    return state.components.find((c: { id: string }) => c.id === "data-path")?.pid;
  } catch {
    return undefined;
  }
}

function edgeEvents(dir: string): number {
  try {
    const state = JSON.parse(Deno.readTextFileSync(`${dir}/state/bench-datapath-slow.json`));
    return state.edges?.find((e: { from: string }) => e.from === "src")?.events ?? 0;
  } catch {
    return 0;
  }
}

const dir = await Deno.makeTempDir({ prefix: "flowctl-bench-datapath-" });
try {
  // Alternating runs, medians: the machine is shared, and load comes and goes.
  const directRates: number[] = [];
  const flowctlRuns: { moving: number; endToEnd: number; startMs: number }[] = [];
  for (let run = 0; run < RUNS; run++) {
    directRates.push(await direct());
    flowctlRuns.push(await driven(dir));
  }
  const baseline = median(directRates);
  const moving = median(flowctlRuns.map((r) => r.moving));
  const endToEnd = median(flowctlRuns.map((r) => r.endToEnd));
  report("datapath throughput", {
    events: EVENTS,
    payloadBytes: PAYLOAD,
    runs: RUNS,
    directEventsPerSecond: Math.round(baseline),
    flowctlEventsPerSecond: Math.round(moving),
    ratio: (moving / baseline).toFixed(2),
    target: "≥0.80",
    flowctlEndToEndEventsPerSecond: Math.round(endToEnd),
    endToEndRatio: (endToEnd / baseline).toFixed(2),
    dataPathStartMs: Math.round(median(flowctlRuns.map((r) => r.startMs))),
  });
  const slow = await slowSink(dir);
  report("datapath slow sink (source 2000/s, sink 20/s, 4 KiB events, 20 s)", {
    dataPathPeakRssMiB: (slow.peakKiB / 1024).toFixed(1),
    eventsReadFromSource: slow.moved,
    sourceWouldHaveSent: 40_000,
  });
} finally {
  await Deno.remove(dir, { recursive: true });
}
