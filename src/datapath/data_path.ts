/**
 * The data path: runs in a process of its own (`flowctl __data-path`, supervised by the runner
 * like a component). It decides which edges it drives (registrations from the control plane,
 * confirmed by gRPC reflection), then calls every driven source, processor and sink, moving
 * events along the edges through bounded buffers, and returns once every driven sink finished.
 */
import type { Event } from "../controlplane/gen/flowctl/v1/event_pb.ts";
import { delay } from "../delay.ts";
import {
  decideComponent,
  decideEdge,
  type Decision,
  dialAddress,
  type Reach,
  unreachableReason,
  unusableRegistration,
} from "./decide.ts";
import { EdgeQueue } from "./edge_queue.ts";
import { EdgeCounter } from "./edge_stats.ts";
import type { DataPathPlan, PlannedComponent } from "./plan.ts";
import { type DataPathReport, formatReport } from "./report.ts";
import { canConnect, listRegistrations, type LiveRegistration, Sessions } from "./wire.ts";
import { listServices } from "./wire.ts";
import { pumpProcessor, pumpSink, pumpSource, type SourcePosition } from "./pumps.ts";
import { loadPositions, savePositions } from "./positions.ts";
import { parseHosts } from "./plan_schema.ts";

export interface DataPathOptions {
  /** host:port of the control plane (FLOWCTL_ENDPOINT). */
  controlPlane: string;
  signal: AbortSignal;
  /** Writes one line to the data path's output. */
  print(line: string): void;
  /** Events buffered per edge. */
  bufferEvents?: number;
  /** How long a component may take to register before its edges count as direct. */
  decideTimeoutMs?: number;
  statsIntervalMs?: number;
  /** Where source positions are saved every stats interval, for a restarted data path. */
  positionsFile?: string;
  /** Where each component is reached (container and swarm mode), kept current by the runner. */
  hostsFile?: string;
}

/** A driven component and its edges, as the pumps see it. */
export interface DrivenNode {
  component: PlannedComponent;
  inputs: EdgeCounter[];
  outputs: EdgeCounter[];
}

/** What the pumps share: registrations, sessions, output. */
export interface PumpContext {
  sessions: Sessions;
  signal: AbortSignal;
  print(line: string): void;
  report(report: DataPathReport): void;
  /** The address of `id` once it accepts connections (after a restart: the new process). */
  waitForAddress(id: string): Promise<string | undefined>;
  /** Where source `id` got to (kept across data path restarts in `positionsFile`). */
  positionOf(id: string): SourcePosition;
}

const POLL_MS = 200;

/**
 * Only decides, printing each edge's decision: how many edges the data path would drive. The
 * runner asks this first, so a pipeline whose edges are all direct gets no data path process.
 */
export async function decideDataPath(
  plan: DataPathPlan,
  options: DataPathOptions,
): Promise<number> {
  const sessions = new Sessions();
  const registrations = new RegistrationCache(
    sessions,
    options.controlPlane,
    options.signal,
    options.hostsFile,
  );
  try {
    const decisions = await decideAll(plan, registrations, sessions, options);
    return plan.edges.filter((e) => decisions.get(e.from)?.driven && decisions.get(e.to)?.driven)
      .length;
  } finally {
    sessions.close();
  }
}

/**
 * Runs the data path of `plan` until every driven sink has finished ("finished"), nothing is
 * driven ("idle", after the decisions), or `signal` aborts ("stopped").
 */
export async function runDataPath(
  plan: DataPathPlan,
  options: DataPathOptions,
): Promise<"finished" | "idle" | "stopped"> {
  const sessions = new Sessions();
  const registrations = new RegistrationCache(
    sessions,
    options.controlPlane,
    options.signal,
    options.hostsFile,
  );
  const report = (r: DataPathReport) => options.print(formatReport(r));
  try {
    const decisions = await decideAll(plan, registrations, sessions, options);
    if (options.signal.aborted) return "stopped";
    const nodes = buildNodes(plan, decisions, {
      capacity: options.bufferEvents ?? 256,
      accepted: (id) => registrations.get(id)?.inputEventTypes ?? [],
      print: options.print,
      report,
    });
    if (nodes.length === 0) return "idle";
    const paramsOf = (id: string) => plan.components.find((c) => c.id === id)?.streamParams;
    const positions = options.positionsFile
      ? loadPositions(options.positionsFile, paramsOf)
      : new Map<string, SourcePosition>();
    const context: PumpContext = {
      sessions,
      signal: options.signal,
      print: options.print,
      report,
      waitForAddress: (id) => registrations.waitForAddress(id, plan.host),
      positionOf: (id) => {
        let position: SourcePosition | undefined = positions.get(id);
        if (!position) positions.set(id, position = { delivered: 0, params: paramsOf(id) ?? {} });
        return position;
      },
    };
    const edges = nodes.flatMap((n) => n.inputs);
    const stats = setInterval(() => {
      edges.forEach((edge) => report(edge.sample()));
      if (options.positionsFile) savePositions(options.positionsFile, positions);
    }, options.statsIntervalMs ?? 1000);
    try {
      await Promise.all(nodes.map((node) => pump(node, context)));
    } finally {
      clearInterval(stats);
      edges.forEach((edge) => report(edge.sample()));
      if (options.signal.aborted) reportStop(edges, positions, options);
      for (const edge of edges.filter((e) => e.queue.dropped > 0)) {
        options.print(
          `edge ${edge.from} -> ${edge.to}: ${edge.queue.dropped} events dropped while "${edge.to}" was down`,
        );
      }
      for (const edge of edges.filter((e) => e.filtered > 0)) {
        options.print(
          `edge ${edge.from} -> ${edge.to}: ${edge.filtered} events not sent, their type is not in "${edge.to}"'s input_event_types`,
        );
      }
    }
    if (options.signal.aborted) return "stopped";
    options.print("all sinks finished");
    return "finished";
  } finally {
    sessions.close();
  }
}

/**
 * Stopped (a requested restart, or shutdown): where each source got to is saved now, so a data
 * path started again repeats nothing read before; what waits in its buffers is lost, and counted.
 */
function reportStop(
  edges: readonly EdgeCounter[],
  positions: ReadonlyMap<string, SourcePosition>,
  options: DataPathOptions,
): void {
  if (options.positionsFile) savePositions(options.positionsFile, positions);
  const held = edges.reduce((sum, edge) => sum + edge.queue.length, 0);
  options.print(
    `stopped: ${held} events in its buffers were not delivered (at-most-once: a restarted data path does not read them again)`,
  );
}

function pump(node: DrivenNode, context: PumpContext): Promise<void> {
  switch (node.component.role) {
    case "source":
      return pumpSource(node, context);
    case "processor":
      return pumpProcessor(node, context);
    case "sink":
      return pumpSink(node, context);
  }
}

/** Decides every planned component (in parallel) and prints each edge's decision. */
async function decideAll(
  plan: DataPathPlan,
  registrations: RegistrationCache,
  sessions: Sessions,
  options: DataPathOptions,
): Promise<Map<string, Decision>> {
  const deadline = Date.now() + (options.decideTimeoutMs ?? 30_000);
  const decisions = new Map<string, Decision>();
  await Promise.all(plan.components.map(async (component) => {
    decisions.set(
      component.id,
      await decideOne(component, plan.host, registrations, sessions, deadline, options.signal),
    );
  }));
  for (const edge of plan.edges) {
    const from = decisions.get(edge.from);
    const to = decisions.get(edge.to);
    if (!from || !to) continue;
    const decision = decideEdge(from, to);
    options.print(formatReport({
      type: "edge",
      from: edge.from,
      to: edge.to,
      mode: decision.driven ? "driven" : "direct",
      reason: decision.reason,
    }));
  }
  return decisions;
}

async function decideOne(
  component: PlannedComponent,
  host: string,
  registrations: RegistrationCache,
  sessions: Sessions,
  deadline: number,
  signal: AbortSignal,
): Promise<Decision> {
  // Known once it registered with an endpoint, or at all unless it is forced driven.
  const known = (r: LiveRegistration | undefined) =>
    !!r?.endpoint || (r !== undefined && component.forced !== "driven");
  let registration = registrations.get(component.id);
  while (!known(registration) && !signal.aborted && Date.now() < deadline) {
    // Asked before any pause: the first look at an empty cache used to cost a whole pause.
    await registrations.refresh();
    registration = registrations.get(component.id);
    if (!known(registration)) await delay(POLL_MS, { signal });
  }
  if (!registration?.endpoint || component.forced === "driven" || signal.aborted) {
    return decideComponent(component, registration, undefined);
  }
  const unusable = unusableRegistration(component, registration);
  if (unusable) return unusable;
  // The SDK registers before it listens: wait for the port, then ask reflection. A swarm task
  // is reached once the runner knows where it runs and its node published the port.
  const { endpoint } = registration;
  let address = registrations.addressOf(component.id, endpoint, host);
  while (
    !signal.aborted && Date.now() < deadline && !(address && await canConnect(address))
  ) {
    await delay(POLL_MS, { signal });
    await registrations.refresh();
    address = registrations.addressOf(component.id, endpoint, host);
  }
  if (!address) {
    const reason = unreachableReason(component.id, endpoint, registrations.reachOf(component.id));
    return { driven: false, reason };
  }
  const services = await listServices(sessions, address, signal);
  return decideComponent(component, registration, services);
}

/** The nodes and edge buffers of the driven edges. */
function buildNodes(
  plan: DataPathPlan,
  decisions: Map<string, Decision>,
  options: {
    capacity: number;
    /** The event types a component registered as accepting (`input_event_types`). */
    accepted(id: string): readonly string[];
    print(line: string): void;
    report(r: DataPathReport): void;
  },
): DrivenNode[] {
  const { capacity, print, report } = options;
  const nodes = new Map<string, DrivenNode>();
  const nodeOf = (id: string) => {
    const component = plan.components.find((c) => c.id === id);
    if (!component) return undefined;
    let node = nodes.get(id);
    if (!node) {
      node = { component, inputs: [], outputs: [] };
      nodes.set(id, node);
    }
    return node;
  };
  for (const edge of plan.edges) {
    const from = decisions.get(edge.from);
    const to = decisions.get(edge.to);
    if (!from?.driven || !to?.driven) continue;
    const producer = nodeOf(edge.from);
    const consumer = nodeOf(edge.to);
    // As the Go flowctl: only a sink's input_event_types filter what it is sent.
    const accepted = consumer?.component.role === "sink" ? options.accepted(edge.to) : [];
    const counter = new EdgeCounter(
      edge.from,
      edge.to,
      new EdgeQueue<Event>(capacity),
      accepted,
    );
    producer?.outputs.push(counter);
    consumer?.inputs.push(counter);
    report(counter.sample());
  }
  // A producer with several consumers must not be stalled by one that is gone.
  for (const node of nodes.values()) {
    if (node.outputs.length > 1) {
      for (const edge of node.outputs) edge.queue.dropWhenDown = true;
    }
  }
  if (nodes.size > 0) {
    print(`driving ${[...nodes.keys()].join(", ")} (${capacity} events buffered per edge)`);
  }
  for (const node of nodes.values()) {
    const accepted = node.inputs[0]?.accepted ?? [];
    if (accepted.length === 0) continue;
    print(
      `sink "${node.component.id}" is sent only events of type ${
        accepted.map((t) => `"${t}"`).join(", ")
      } (its registered input_event_types)`,
    );
  }
  return [...nodes.values()];
}

/** The control plane's registrations, refreshed at most every POLL_MS. */
class RegistrationCache {
  readonly #sessions: Sessions;
  readonly #endpoint: string;
  readonly #signal: AbortSignal;
  #known = new Map<string, LiveRegistration>();
  #refreshedAt = 0;
  #refreshing: Promise<void> | undefined;
  readonly #hostsFile: string | undefined;
  #hosts: Record<string, Reach> = {};

  constructor(sessions: Sessions, endpoint: string, signal: AbortSignal, hostsFile?: string) {
    this.#sessions = sessions;
    this.#endpoint = endpoint;
    this.#signal = signal;
    this.#hostsFile = hostsFile;
  }

  /** Where the runner says `id` is reached, when it says so. */
  reachOf(id: string): Reach | undefined {
    return this.#hosts[id];
  }

  /** Where to dial `endpoint`, registered by `id`, with `fallback` as its host if none is known. */
  addressOf(id: string, endpoint: string, fallback: string): string | undefined {
    return dialAddress(endpoint, this.#hosts[id], fallback);
  }

  get(id: string): LiveRegistration | undefined {
    return this.#known.get(id);
  }

  refresh(): Promise<void> {
    if (Date.now() - this.#refreshedAt < POLL_MS) return Promise.resolve();
    this.#refreshing ??= listRegistrations(this.#sessions, this.#endpoint, this.#signal)
      .then((found) => {
        this.#known = found;
        this.#refreshedAt = Date.now();
        if (this.#hostsFile) this.#hosts = readHosts(this.#hostsFile);
      })
      .catch(() => this.#sessions.forget(this.#endpoint))
      .finally(() => this.#refreshing = undefined);
    return this.#refreshing;
  }

  /** Waits until `id` is registered with an endpoint that accepts connections. */
  async waitForAddress(id: string, host: string): Promise<string | undefined> {
    while (!this.#signal.aborted) {
      await this.refresh();
      const endpoint = this.#known.get(id)?.endpoint;
      const address = endpoint ? this.addressOf(id, endpoint, host) : undefined;
      if (address && await canConnect(address)) return address;
      await delay(POLL_MS, { signal: this.#signal });
    }
    return undefined;
  }
}

/** Where the runner's hosts file says each component is reached; none when it is unreadable. */
function readHosts(path: string): Record<string, Reach> {
  try {
    return parseHosts(Deno.readTextFileSync(path));
  } catch {
    return {};
  }
}
