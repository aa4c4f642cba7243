/**
 * The JSON the page is drawn from: `init` (the graph, each component's static details, rate
 * history and the timeline so far) and `state` (what changes: component states, usage,
 * heartbeats, edge rates). Built from the run's view and the dashboard's feed; no I/O.
 */
import { type Component, graphOf, type Pipeline } from "../config/mod.ts";
import { componentDetails, type PipelineGraph } from "../graph/pipeline_graph.ts";
import type { ComponentSnapshot } from "../runner/events.ts";
import type { RegistrationView, RunView } from "../runner/run_view.ts";
import type { DashboardFeed, EdgeDecision, ProbeResult, TimelineEntry } from "./dashboard_feed.ts";
import type { EdgeRate } from "./edge_rates.ts";
import type { Usage } from "../orchestrator/usage.ts";
import { modeOf } from "../orchestrator/select.ts";

/** Timeline entries a new page receives at once. */
const INITIAL_TIMELINE = 300;
/** Rate points a new page receives per edge: the two minutes its sparklines show. */
const INITIAL_HISTORY = 120;
const MASK = "••••••";
/** Env names whose values the page never shows. */
const SECRET_NAME = /(secret|passw|token|key|private|credential|auth|cookie|session)/i;

/** What was sampled of the running components: usage, and in swarm mode their nodes. */
export interface Sampled {
  usage: ReadonlyMap<string, Usage>;
  nodes: ReadonlyMap<string, string>;
}

/** One component as the page shows it. */
export interface ComponentView {
  id: string;
  /** The state the page draws: starting, waiting, healthy, unhealthy, restarting, stopped… */
  state: string;
  restarts: number;
  lastExit?: string;
  startedAt?: number;
  pid?: number;
  containerId?: string;
  registeredAt?: number;
  registeredVia?: string;
  lastHeartbeat?: number;
  heartbeatStatus?: string;
  stale?: boolean;
  cpuPercent?: number;
  rssBytes?: number;
  node: string;
  /** Dependencies it waits for before it can start. */
  waitsOn: string[];
  lastProbe?: ProbeResult;
}

export type EdgeView =
  & { key: string; from: string; to: string; decision?: EdgeDecision }
  & EdgeRate;

export interface StatePayload {
  at: number;
  pipeline: { state: string; failure?: string };
  components: ComponentView[];
  edges: EdgeView[];
}

export interface ComponentDetails {
  summary: string[];
  ports: string[];
  env: [string, string][];
  health: string;
  restart: string;
}

export interface InitPayload {
  pipeline: { name: string; orchestrator: string; runId: string; file: string };
  graph: PipelineGraph;
  details: Record<string, ComponentDetails>;
  history: Record<string, readonly number[]>;
  timeline: readonly TimelineEntry[];
  state: StatePayload;
}

/** What changes between frames, for every component and data edge. */
export function statePayload(
  view: RunView,
  feed: DashboardFeed,
  sampled: Sampled,
  now: number,
): StatePayload {
  const pipeline = view.pipeline();
  const snapshots = view.snapshot();
  const registrations = new Map(view.registrations().map((r) => [r.componentId, r]));
  const byId = new Map(snapshots.map((s) => [s.id, s]));
  const node = Deno.hostname();
  return {
    at: now,
    pipeline: { state: feed.state, ...(feed.failure ? { failure: feed.failure } : {}) },
    components: pipeline.components.map((component) =>
      componentView(component, {
        snapshot: byId.get(component.id),
        registration: registrations.get(component.id),
        waitsOn: waitsOn(component, byId),
        feed,
        usage: sampled.usage.get(component.id),
        node: modeOf(pipeline.orchestrator).listsTasks
          ? sampled.nodes.get(component.id) ?? "-"
          : node,
      })
    ),
    edges: dataEdges(pipeline).map(({ from, to }) => {
      const decision = feed.decision(`${from}->${to}`);
      return {
        key: `${from}->${to}`,
        from,
        to,
        ...(decision ? { decision } : {}),
        ...feed.rates.rate(from, to, now),
      };
    }),
  };
}

/** Everything a newly connected page needs. */
export function initPayload(
  view: RunView,
  feed: DashboardFeed,
  sampled: Sampled,
  now: number,
): InitPayload {
  const pipeline = view.pipeline();
  const graph = graphOf(pipeline);
  return {
    pipeline: {
      name: pipeline.name,
      orchestrator: pipeline.orchestrator,
      runId: view.runId,
      file: pipeline.file,
    },
    graph,
    details: Object.fromEntries(pipeline.components.map((c, index) => {
      const drawn = graph.components[index];
      return [c.id, {
        summary: drawn ? componentDetails(drawn) : [],
        ports: drawn?.ports ?? [],
        env: maskedEnv(c),
        health: describeHealth(c),
        restart: `${c.restart}, at most ${c.maxRestarts} restarts`,
      }];
    })),
    history: Object.fromEntries(
      dataEdges(pipeline).map(({ from, to }) => {
        const key = `${from}->${to}`;
        return [key, feed.rates.history(key).slice(-INITIAL_HISTORY)];
      }),
    ),
    timeline: feed.timeline().slice(-INITIAL_TIMELINE),
    state: statePayload(view, feed, sampled, now),
  };
}

/** The edges that carry events: one per input. */
export function dataEdges(pipeline: Pipeline): { from: string; to: string }[] {
  return pipeline.components.flatMap((c) => c.inputs.map((from) => ({ from, to: c.id })));
}

interface ComponentInputs {
  snapshot: ComponentSnapshot | undefined;
  registration: RegistrationView | undefined;
  waitsOn: string[];
  feed: DashboardFeed;
  usage: Usage | undefined;
  node: string;
}

function componentView(component: Component, inputs: ComponentInputs): ComponentView {
  const { snapshot, registration, feed, usage } = inputs;
  const facts = feed.facts(component.id);
  const phase = snapshot?.phase ?? "pending";
  const running = ["starting", "healthy", "unhealthy", "running"].includes(phase);
  return {
    id: component.id,
    state: phase === "pending" && inputs.waitsOn.length > 0 ? "waiting" : phase,
    restarts: snapshot?.restarts ?? 0,
    ...(facts.lastExit ? { lastExit: facts.lastExit } : {}),
    ...(running && snapshot?.startedAt !== undefined ? { startedAt: snapshot.startedAt } : {}),
    ...(running && snapshot?.pid !== undefined ? { pid: snapshot.pid } : {}),
    ...(running && snapshot?.containerId !== undefined
      ? { containerId: snapshot.containerId.slice(0, 12) }
      : {}),
    ...(registration
      ? {
        registeredAt: registration.registeredAt,
        lastHeartbeat: registration.lastHeartbeat,
        heartbeatStatus: registration.status,
        stale: registration.stale,
      }
      : {}),
    ...(facts.registeredVia ? { registeredVia: facts.registeredVia } : {}),
    ...(running && usage ? usage : {}),
    node: inputs.node,
    waitsOn: inputs.waitsOn,
    ...(facts.lastProbe ? { lastProbe: facts.lastProbe } : {}),
  };
}

/** The dependencies of a component that has not started yet and that are not ready for it. */
function waitsOn(
  component: Component,
  snapshots: ReadonlyMap<string, ComponentSnapshot>,
): string[] {
  if ((snapshots.get(component.id)?.phase ?? "pending") !== "pending") return [];
  const needs = [
    ...component.inputs.map((id) => ({ id, condition: "healthy" })),
    ...component.dependsOn.filter((d) => !component.inputs.includes(d.id)),
  ];
  return needs.filter(({ id, condition }) => {
    const dependency = snapshots.get(id);
    if (!dependency) return true;
    if (condition === "completed_successfully") return dependency.lastExit?.code !== 0;
    if (condition === "started") return dependency.phase === "pending";
    return dependency.phase !== "healthy" && dependency.phase !== "running";
  }).map(({ id }) => id);
}

/** The component's declared environment, secrets masked. */
function maskedEnv(component: Component): [string, string][] {
  const secretEnv = new Set(component.secrets.flatMap((s) => s.env ? [s.env] : []));
  return Object.entries(component.env).map(([name, value]) => [
    name,
    SECRET_NAME.test(name) || secretEnv.has(name) ? MASK : maskUserinfo(value),
  ]);
}

/** `scheme://user:password@host` with the password masked. */
function maskUserinfo(value: string): string {
  return value.replace(/(\w+:\/\/[^:/@\s]+:)[^@/\s]+@/g, `$1${MASK}@`);
}

function describeHealth(component: Component): string {
  const health = component.health;
  if (!health) return "none (ready once running)";
  const probe = health.probe;
  const what = probe.type === "http"
    ? `HTTP GET :${probe.port}${probe.path}`
    : probe.type === "tcp"
    ? `TCP :${probe.port}`
    : probe.type === "registered"
    ? "registered with the control plane"
    : `exec ${probe.command.join(" ")}`;
  return `${what} every ${health.intervalMs / 1000}s`;
}
