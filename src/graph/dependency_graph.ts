/** Dependency graph of pipeline components: topological levels and cycle detection. No I/O. */

/** A node of the graph: an id and the ids it depends on. */
export interface GraphNode {
  id: string;
  inputs: readonly string[];
}

/** Levels in start order (level 0 has no inputs), or the first cycle found. */
export type LevelsResult =
  | { ok: true; levels: string[][] }
  | { ok: false; cycle: string[] };

/**
 * Groups nodes into levels: a node's level is one more than the highest level of its inputs.
 * Within a level, nodes keep the order they were given in. Inputs naming no node are ignored
 * (they are reported separately).
 * @example computeLevels([{ id: "a", inputs: [] }, { id: "b", inputs: ["a"] }]) // [["a"], ["b"]]
 */
export function computeLevels(nodes: readonly GraphNode[]): LevelsResult {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const level = new Map<string, number>();
  const visiting: string[] = [];

  const visit = (id: string): string[] | undefined => {
    if (level.has(id)) return undefined;
    const start = visiting.indexOf(id);
    if (start >= 0) return [...visiting.slice(start), id];
    const node = byId.get(id);
    if (!node) return undefined;
    visiting.push(id);
    let depth = 0;
    for (const input of node.inputs) {
      if (!byId.has(input)) continue;
      const cycle = visit(input);
      if (cycle) return cycle;
      depth = Math.max(depth, (level.get(input) ?? 0) + 1);
    }
    visiting.pop();
    level.set(id, depth);
    return undefined;
  };

  for (const node of nodes) {
    const cycle = visit(node.id);
    if (cycle) return { ok: false, cycle };
  }
  const levels: string[][] = [];
  for (const node of nodes) {
    const depth = level.get(node.id) ?? 0;
    (levels[depth] ??= []).push(node.id);
  }
  return { ok: true, levels };
}
