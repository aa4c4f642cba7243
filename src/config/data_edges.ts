/**
 * Data edges of a pipeline, pure: which `inputs` edges may carry events a data path drives
 * (flowctl-sdk v1 servers), and the port a component serves its data on as the file declares it.
 * The data path plans from them, and swarm mode publishes that port for the data path to dial.
 */
import type { Component, OrchestratorKind, Pipeline } from "./pipeline.ts";

/** Kinds of component that produce events on a data edge. */
export const DATA_PRODUCERS: readonly string[] = ["source", "processor"];
/** Kinds of component that consume events on a data edge. */
export const DATA_CONSUMERS: readonly string[] = ["processor", "sink"];

/**
 * Whether the edge `from` → `to` may be driven: a producer feeding a consumer, and neither end
 * set to `data_path: direct`.
 */
export function mayBeDriven(from: Component, to: Component): boolean {
  return DATA_PRODUCERS.includes(from.kind) && DATA_CONSUMERS.includes(to.kind) &&
    from.dataPath !== "direct" && to.dataPath !== "direct";
}

/** Ids of the components on some edge that may be driven. */
export function drivableComponents(pipeline: Pipeline): Set<string> {
  const byId = new Map(pipeline.components.map((c) => [c.id, c]));
  const ids = new Set<string>();
  for (const to of pipeline.components) {
    for (const fromId of to.inputs) {
      const from = byId.get(fromId);
      if (from && mayBeDriven(from, to)) ids.add(from.id).add(to.id);
    }
  }
  return ids;
}

/**
 * The port a flowctl-sdk v1 component serves its data on, as its file says: its port named
 * `grpc`, else `PORT` (the SDK's listen string, ":50051" or "50051"), else `GRPC_PORT` (the
 * obsrvr source's); undefined when the file says none of these.
 */
export function dataPort(component: Component): number | undefined {
  const named = component.ports.find((p) => p.name === "grpc");
  if (named) return named.containerPort;
  for (const variable of ["PORT", "GRPC_PORT"]) {
    const value = component.env[variable];
    const port = value === undefined ? Number.NaN : Number(value.slice(value.lastIndexOf(":") + 1));
    if (Number.isInteger(port) && port > 0 && port < 65536) return port;
  }
  return undefined;
}

/**
 * Whether the data path, on flowctl's host, reaches components through the ports their nodes
 * publish (swarm tasks), and so never at a host of its own choosing.
 */
export function dialsPublishedPorts(orchestrator: OrchestratorKind): boolean {
  return orchestrator === "swarm";
}
