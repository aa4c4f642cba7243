/** The drawable graph of a loaded pipeline, for `flowctl graph` and the dashboard. */
import type { PipelineGraph } from "../graph/pipeline_graph.ts";
import type { Component, Pipeline } from "./pipeline.ts";

/** Builds the graph of `pipeline`: its components by level and its data and ordering edges. */
export function graphOf(pipeline: Pipeline): PipelineGraph {
  const levelOf = new Map(
    pipeline.levels.flatMap((ids, level) => ids.map((id) => [id, level] as const)),
  );
  const byId = new Map(pipeline.components.map((c) => [c.id, c]));
  return {
    pipeline: pipeline.name,
    orchestrator: pipeline.orchestrator,
    components: pipeline.components.map((c) => ({
      id: c.id,
      kind: c.kind,
      mode: pipeline.orchestrator,
      ...runs(c, pipeline.orchestrator),
      ports: c.ports.map((port) =>
        port.hostPort !== undefined && port.hostPort !== port.containerPort &&
          pipeline.orchestrator !== "process"
          ? `${port.name} ${port.hostPort}->${port.containerPort}`
          : `${port.name} ${port.hostPort ?? port.containerPort}`
      ),
      level: levelOf.get(c.id) ?? 0,
    })),
    edges: pipeline.components.flatMap((c) => [
      ...c.inputs.map((from) => ({
        from,
        to: c.id,
        kind: "data" as const,
        eventTypes: edgeTypes(byId.get(from), c),
      })),
      ...c.dependsOn.filter((d) => !c.inputs.includes(d.id)).map((d) => ({
        from: d.id,
        to: c.id,
        kind: "order" as const,
        eventTypes: [],
      })),
    ]),
    levels: pipeline.levels,
  };
}

/** What a component runs: its image (container modes, or a process from an image) or command. */
function runs(component: Component, orchestrator: string): { image?: string; command?: string[] } {
  if (orchestrator !== "process") return component.image ? { image: component.image } : {};
  if (component.fromImage) return { image: component.fromImage.reference };
  return component.argv.length > 0 ? { command: component.argv } : {};
}

/**
 * The event types declared on an edge: those both ends name, or all that the one declaring end
 * names (an end without types takes anything).
 */
function edgeTypes(producer: Component | undefined, consumer: Component): string[] {
  const produces = producer?.outputEventTypes ?? [];
  const accepts = consumer.inputEventTypes;
  if (produces.length === 0) return [...accepts];
  if (accepts.length === 0) return [...produces];
  return produces.filter((type) => accepts.includes(type));
}
