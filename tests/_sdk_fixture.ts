/**
 * Components on the flowctl-sdk v1 wire for the data path tests: tests/fixtures/sdk_component.cjs
 * (Node, @grpc/grpc-js from tests/interop) as a source, processor or sink, with the variables the
 * SDK reads: FLOWCTL_COMPONENT_ID and GRPC_PORT (the obsrvr source), COMPONENT_ID and PORT ":N".
 */
import { FIXTURES, isAlive, type TestComponent, testPipeline } from "./_helpers.ts";

export const SDK_FIXTURE = `${FIXTURES}/sdk_component.cjs`;

const handedOut = new Set<number>();

/**
 * A port that is free now, below the ephemeral range: a port the kernel hands out for port 0 can
 * be taken by any outgoing connection (the data path makes many) before the component listens.
 */
export function freeListenPort(): number {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    // Two components of one test must not be handed the same port before either listens.
    if (handedOut.has(port)) continue;
    try {
      Deno.listen({ hostname: "0.0.0.0", port }).close();
      handedOut.add(port);
      return port;
    } catch {
      // taken: try another
    }
  }
}

export type SdkRole = "source" | "processor" | "sink";

export interface SdkComponentOptions {
  inputs?: string[];
  env?: Record<string, string | number>;
  /** Other keys of the component (restart, data_path, ...). */
  extra?: Record<string, unknown>;
  /** A sink writes the events it consumed to `<outputDir>/<id>.out`. */
  outputDir?: string;
}

/** A fixture component of `role` listening on a free port. */
export function sdkComponent(
  role: SdkRole,
  id: string,
  options: SdkComponentOptions = {},
): TestComponent {
  const port = freeListenPort();
  const identity: Record<string, string> = role === "source"
    ? { FLOWCTL_COMPONENT_ID: id, GRPC_PORT: String(port) }
    : { COMPONENT_ID: id, PORT: `:${port}` };
  const output: Record<string, string> = role === "sink" && options.outputDir
    ? { SINK_OUTPUT: sinkOutputPath(options.outputDir, id) }
    : {};
  const env = Object.fromEntries(
    Object.entries({ ...identity, ...output, ...options.env }).map(([k, v]) => [k, String(v)]),
  );
  return {
    id,
    type: role,
    command: ["node", SDK_FIXTURE, role],
    ...(options.inputs ? { inputs: options.inputs } : {}),
    env,
    ...options.extra,
  };
}

export function sinkOutputPath(dir: string, id: string): string {
  return `${dir}/${id}.out`;
}

/** The events a fixture sink consumed, in order: `[id, type]`. */
export function sinkEvents(dir: string, id: string): [string, string][] {
  let text = "";
  try {
    text = Deno.readTextFileSync(sinkOutputPath(dir, id));
  } catch {
    return [];
  }
  return text.split("\n").filter(Boolean).map((line) => {
    const [eventId = "", type = ""] = line.split(" ");
    return [eventId, type];
  });
}

/** The ledger numbers of the events from `source`, in the order a sink consumed them. */
export function ledgersFrom(events: readonly [string, string][], source: string): number[] {
  return events
    .filter(([id]) => id.startsWith(`${source}-`))
    .map(([id]) => Number(id.slice(source.length + 1).split("-")[0]));
}

/**
 * The pid of component `id` of pipeline `name` (the data path too), from the environment flowctl
 * gave it, without asking `flowctl status` (which takes a Deno start).
 */
export function componentPid(name: string, id: string): number | undefined {
  return pipelineProcesses(name).find((pid) => {
    try {
      return Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0").includes(
        `COMPONENT_ID=${id}`,
      ) && !Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes("--decide");
    } catch {
      return false;
    }
  });
}

/**
 * Live processes started for pipeline `name`: every component and the data path gets
 * FLOWCTL_PIPELINE=<name> in its environment.
 */
export function pipelineProcesses(name: string): number[] {
  const wanted = `FLOWCTL_PIPELINE=${name}\0`;
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid) || pid === Deno.pid) continue;
    try {
      const environ = Deno.readTextFileSync(`/proc/${pid}/environ`);
      if (environ.includes(wanted) && isAlive(pid)) found.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** A source `src` of ledgers 1..`total` at 400/s into a sink `out`: a stream long enough to act on mid-way. */
export function pacedSourceToSink(name: string, total: number) {
  return testPipeline(({ dir }) => ({
    name,
    sources: [sdkComponent("source", "src", {
      env: { START_LEDGER: 1, END_LEDGER: total, SOURCE_RATE: 400 },
    })],
    sinks: [sdkComponent("sink", "out", { inputs: ["src"], outputDir: dir })],
  }));
}
