/**
 * The data path's plan, pure: which edges of a pipeline (from `inputs`) flowctl may drive for
 * components that only serve (flowctl-sdk v1), which are direct and why, and the StreamRequest
 * each source gets. Whether an edge that may be driven is driven is decided at run time from the
 * components' registrations and gRPC reflection (decide.ts).
 */
import type { Component, Pipeline } from "../config/pipeline.ts";
import { DATA_CONSUMERS, DATA_PRODUCERS, dialsPublishedPorts } from "../config/data_edges.ts";

/** What a component is on the data path: who calls whom. */
export type DataPathRole = "source" | "processor" | "sink";

/** `data_path` in the pipeline file: forces a component's edges either way. */
export type DataPathSetting = "driven" | "direct";

export interface PlannedComponent {
  id: string;
  role: DataPathRole;
  /** `data_path` as the file sets it; undefined means decided at run time. */
  forced?: DataPathSetting;
  /** Producers it reads, in file order (the edges into it). */
  inputs: string[];
  /** The StreamRequest params a source is called with (start_ledger, end_ledger). */
  streamParams: Record<string, string>;
}

/** A data edge of the pipeline and how its events move. */
export interface PlannedEdge {
  from: string;
  to: string;
  /** `at-run`: driven when both ends turn out to be SDK v1 servers once they registered. */
  mode: "driven" | "direct" | "at-run";
  reason: string;
}

/** What the data path process is given (as JSON) to run. */
export interface DataPathPlan {
  pipeline: string;
  /**
   * Host of an endpoint registered without one (":55472") in process mode; in container and swarm
   * mode each component's address (its container's, or its task's published port), from the hosts
   * file the runner keeps current. Empty in swarm mode: no fallback, a task is dialled only where
   * the runner says it is reached.
   */
  host: string;
  components: PlannedComponent[];
  edges: { from: string; to: string }[];
}

export interface PlanResult {
  edges: PlannedEdge[];
  /** Undefined when no edge may be driven: the pipeline gets no data path process. */
  plan?: DataPathPlan;
}

/** The data path's id in status, logs and events: `data-path`, unless a component has it. */
export function dataPathId(pipeline: Pipeline): string {
  return pipeline.components.some((c) => c.id === "data-path") ? "flowctl-data-path" : "data-path";
}

/**
 * Plans the data path of `pipeline`: every `inputs` edge between a producer (source, processor)
 * and a consumer (processor, sink), direct or possibly driven, with the reason.
 */
export function planDataPath(pipeline: Pipeline): PlanResult {
  const byId = new Map(pipeline.components.map((c) => [c.id, c]));
  const edges: PlannedEdge[] = [];
  for (const to of pipeline.components) {
    for (const fromId of to.inputs) {
      const from = byId.get(fromId);
      if (!from) continue;
      edges.push({ from: fromId, to: to.id, ...edgeMode(pipeline, from, to) });
    }
  }
  const candidates = edges.filter((e) => e.mode !== "direct");
  if (candidates.length === 0) return { edges };
  const ids = new Set(candidates.flatMap((e) => [e.from, e.to]));
  const components = pipeline.components.filter((c) => ids.has(c.id)).map((c) =>
    plannedComponent(c, candidates)
  );
  return {
    edges,
    plan: {
      pipeline: pipeline.name,
      host: dialsPublishedPorts(pipeline.orchestrator) ? "" : "127.0.0.1",
      components,
      edges: candidates.map(({ from, to }) => ({ from, to })),
    },
  };
}

function edgeMode(
  pipeline: Pipeline,
  from: Component,
  to: Component,
): Pick<PlannedEdge, "mode" | "reason"> {
  if (!DATA_PRODUCERS.includes(from.kind) || !DATA_CONSUMERS.includes(to.kind)) {
    return { mode: "direct", reason: `a ${from.kind} feeding a ${to.kind} is not a data edge` };
  }
  const direct = [from, to].find((c) => c.dataPath === "direct");
  if (direct) return { mode: "direct", reason: `data_path: direct on "${direct.id}"` };
  // Swarm: the data path on flowctl's host dials each task at its node's published data port.
  const where = dialsPublishedPorts(pipeline.orchestrator)
    ? "; in swarm mode each end is dialled at the port its node publishes for its data port"
    : "";
  if (from.dataPath === "driven" && to.dataPath === "driven") {
    return { mode: "driven", reason: `data_path: driven on both ends${where}` };
  }
  return {
    mode: "at-run",
    reason:
      `driven if both ends register through flowctl.v1 with their type and endpoint and serve the v1 service (gRPC reflection); direct otherwise${where}`,
  };
}

function plannedComponent(component: Component, edges: PlannedEdge[]): PlannedComponent {
  const role: DataPathRole = component.kind === "source"
    ? "source"
    : component.kind === "processor"
    ? "processor"
    : "sink";
  return {
    id: component.id,
    role,
    ...(component.dataPath ? { forced: component.dataPath } : {}),
    inputs: edges.filter((e) => e.to === component.id).map((e) => e.from),
    streamParams: role === "source" ? streamParams(component) : {},
  };
}

/**
 * The StreamRequest params of a source, as the Go flowctl fills them: `start_ledger` and
 * `end_ledger` from the source's START_LEDGER and END_LEDGER (its env, or its config, which
 * becomes its env); absent when not set.
 */
export function streamParams(component: Component): Record<string, string> {
  const params: Record<string, string> = {};
  const start = component.env.START_LEDGER ?? component.config.start_ledger;
  const end = component.env.END_LEDGER ?? component.config.end_ledger;
  if (start !== undefined) params.start_ledger = start;
  if (end !== undefined) params.end_ledger = end;
  return params;
}

/**
 * What changed between two plans, in words (`edges added: a -> b; removed: c -> d`), or
 * undefined when the data path would run the same: `run --watch` restarts it with the new one.
 */
export function planChange(before: DataPathPlan, after: DataPathPlan): string | undefined {
  if (JSON.stringify(before) === JSON.stringify(after)) return undefined;
  const names = (plan: DataPathPlan) => plan.edges.map((e) => `${e.from} -> ${e.to}`);
  const added = names(after).filter((edge) => !names(before).includes(edge));
  const removed = names(before).filter((edge) => !names(after).includes(edge));
  const parts = [
    added.length > 0 ? `edges added: ${added.join(", ")}` : "",
    removed.length > 0 ? `edges removed: ${removed.join(", ")}` : "",
  ].filter(Boolean);
  return parts.length > 0 ? parts.join("; ") : "components changed";
}

/**
 * The edges after a reload: an edge planned as before keeps what is known of it (`known`: its
 * run-time decision and rates); a new or changed one starts from its plan.
 */
export function carryEdges<T extends { from: string; to: string }>(
  planned: readonly PlannedEdge[],
  before: readonly PlannedEdge[],
  known: readonly T[],
): (T | PlannedEdge)[] {
  return planned.map((edge) => {
    const same = (e: { from: string; to: string }) => e.from === edge.from && e.to === edge.to;
    const kept = JSON.stringify(before.find(same)) === JSON.stringify(edge);
    return { ...(kept ? known.find(same) : undefined) ?? edge };
  });
}
