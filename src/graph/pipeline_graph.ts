/**
 * The drawable graph of a pipeline: components with what they run and expose, edges from
 * `inputs` (data) and `depends_on` (ordering), and the three text formats `flowctl graph`
 * prints. Pure data; the caller builds the graph from its model.
 */

/** One component as drawn: what it is, how it runs, what it exposes. */
export interface GraphComponent {
  id: string;
  /** source | processor | sink | pipeline. */
  kind: string;
  /** The orchestrator it runs under: process | container | swarm. */
  mode: string;
  /** The image it runs, when it runs one. */
  image?: string;
  /** The command line it runs, when it is a process with a command. */
  command?: string[];
  /** `name port` or `name host->container`. */
  ports: string[];
  /** Dependency level: 0 for components without inputs. */
  level: number;
}

/** An edge: `data` from `inputs` (carrying events), `order` from `depends_on` (start order only). */
export interface GraphEdge {
  from: string;
  to: string;
  kind: "data" | "order";
  /** Event types declared on both ends (or on the one end that declares any). */
  eventTypes: string[];
}

export interface PipelineGraph {
  pipeline: string;
  orchestrator: string;
  components: GraphComponent[];
  edges: GraphEdge[];
  /** Component ids by dependency level. */
  levels: string[][];
}

export type GraphFormat = "mermaid" | "dot" | "json";

/** Renders `graph` as Mermaid (renders on GitHub), Graphviz DOT, or JSON. */
export function formatGraph(graph: PipelineGraph, format: GraphFormat): string {
  switch (format) {
    case "mermaid":
      return mermaid(graph);
    case "dot":
      return dot(graph);
    case "json":
      return JSON.stringify(graph, null, 2);
  }
}

/** The lines under a component's id: kind and mode, what it runs, its ports. */
export function componentDetails(component: GraphComponent): string[] {
  const runs = component.image ?? component.command?.join(" ");
  return [
    `${component.kind} · ${component.mode}`,
    ...(runs ? [clipText(runs, 60)] : []),
    ...(component.ports.length > 0 ? [`ports: ${component.ports.join(", ")}`] : []),
  ];
}

/** Mermaid shapes by kind: sources are stadiums, sinks cylinders, whole pipelines subroutines. */
const MERMAID_SHAPES: Record<string, [string, string]> = {
  source: ["([", "])"],
  processor: ["[", "]"],
  sink: ["[(", ")]"],
  pipeline: ["[[", "]]"],
};

function mermaid(graph: PipelineGraph): string {
  const ids = new Map(graph.components.map((c, index) => [c.id, `c${index}`]));
  const lines = ["flowchart LR"];
  for (const component of graph.components) {
    const [open, close] = MERMAID_SHAPES[component.kind] ?? ["[", "]"];
    const label = [
      `<b>${mermaidText(component.id)}</b>`,
      ...componentDetails(component).map(mermaidText),
    ].join("<br/>");
    lines.push(`  ${ids.get(component.id)}${open}"${label}"${close}`);
  }
  for (const edge of graph.edges) {
    const arrow = edge.kind === "order" ? "-.->" : "-->";
    const label = edge.eventTypes.length > 0
      ? `|"${mermaidText(edge.eventTypes.join(", "))}"|`
      : edge.kind === "order"
      ? '|"starts after"|'
      : "";
    lines.push(`  ${ids.get(edge.from)} ${arrow}${label} ${ids.get(edge.to)}`);
  }
  return lines.join("\n");
}

/** Text inside a quoted Mermaid label: quotes and markup characters as entity codes. */
function mermaidText(text: string): string {
  return text.replace(/[&"<>#|]/g, (char) => `#${char.charCodeAt(0)};`);
}

const DOT_SHAPES: Record<string, string> = {
  source: "invhouse",
  processor: "box",
  sink: "cylinder",
  pipeline: "box3d",
};

function dot(graph: PipelineGraph): string {
  const lines = [
    `digraph ${dotString(graph.pipeline)} {`,
    "  rankdir=LR;",
    '  node [fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=10];',
  ];
  for (const component of graph.components) {
    const label = [component.id, ...componentDetails(component)].join("\n");
    lines.push(
      `  ${dotString(component.id)} [label=${dotString(label)}, shape=${
        DOT_SHAPES[component.kind] ?? "box"
      }];`,
    );
  }
  for (const edge of graph.edges) {
    const attributes = [
      ...(edge.eventTypes.length > 0 ? [`label=${dotString(edge.eventTypes.join(", "))}`] : []),
      ...(edge.kind === "order" ? ["style=dashed"] : []),
    ];
    lines.push(
      `  ${dotString(edge.from)} -> ${dotString(edge.to)}${
        attributes.length > 0 ? ` [${attributes.join(", ")}]` : ""
      };`,
    );
  }
  lines.push("}");
  return lines.join("\n");
}

/** A DOT quoted string; newlines become DOT's centred line breaks. */
function dotString(text: string): string {
  return `"${text.replace(/[\\"]/g, (char) => `\\${char}`).replace(/\n/g, "\\n")}"`;
}

function clipText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
