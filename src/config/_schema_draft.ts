/**
 * A best-effort reading of a file that failed the schema: the parts with schema problems are cut
 * out, so the later steps (ids and inputs, durations, references, env files) can still check the
 * rest and `validate` reports every problem at once instead of in rounds.
 */
import * as v from "valibot";
import { isComponentId, type PipelineFile, PipelineFileSchema } from "./schema.ts";
import type { PathSegment } from "./yaml_path.ts";

/** The schema-valid rest of a file and the paths that were cut out of it. */
export interface SchemaDraft {
  file: PipelineFile;
  /** Paths whose problems were reported by the schema; later steps stay quiet about them. */
  cut: PathSegment[][];
}

const SECTIONS = new Set(["sources", "processors", "sinks", "pipelines"]);
/** Stand-ins for required values at the top of the file, so one bad name does not end checking. */
const REQUIRED: ReadonlyArray<[PathSegment[], unknown]> = [
  [["apiVersion"], "flowctl/v1"],
  [["kind"], "Pipeline"],
  [["metadata"], { name: "pipeline" }],
  [["metadata", "name"], "pipeline"],
  [["spec"], {}],
];
const MAX_ROUNDS = 6;

/**
 * Cuts every part of `data` that the schema rejects (`paths` from the first parse) and parses
 * again, a few rounds at most. Returns undefined when no schema-valid rest is found.
 */
export function schemaDraft(
  data: unknown,
  paths: readonly PathSegment[][],
): SchemaDraft | undefined {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return undefined;
  const draft = structuredClone(data) as Record<string, unknown>;
  const cut: PathSegment[][] = [];
  let pending = paths;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    for (const path of pending) {
      const at = cutAt(draft, path);
      if (at === undefined) return undefined;
      cut.push(at);
    }
    const parsed = v.safeParse(PipelineFileSchema, draft);
    if (parsed.success) return { file: parsed.output, cut };
    pending = parsed.issues.map((issue) =>
      (issue.path ?? []).map((item) => item.key as PathSegment)
    );
  }
  return undefined;
}

/** Whether `path` lies inside (or contains) a part that was cut out. */
export function touchesCut(path: readonly PathSegment[], cut: readonly PathSegment[][]): boolean {
  return cut.some((part) => {
    const n = Math.min(part.length, path.length);
    for (let i = 0; i < n; i++) if (part[i] !== path[i]) return false;
    return true;
  });
}

/**
 * Removes the node at `path` (its parent when the node is missing, a required key) and returns
 * the path that was cut. A component becomes a bare `{ id }`, so references to it still resolve
 * and its index (and so every later path) stays where the file has it.
 */
function cutAt(
  root: Record<string, unknown>,
  path: readonly PathSegment[],
): PathSegment[] | undefined {
  for (let end = path.length; end > 0; end--) {
    const at = path.slice(0, end);
    const parent = nodeAt(root, at.slice(0, -1));
    const key = at.at(-1) as PathSegment;
    if (typeof parent !== "object" || parent === null) continue;
    const required = REQUIRED.find(([p]) => samePath(p, at));
    if (required) {
      (parent as Record<string, unknown>)[String(key)] = structuredClone(required[1]);
      return at;
    }
    if (!(String(key) in parent)) continue;
    if (at.length === 3 && at[0] === "spec" && SECTIONS.has(String(at[1]))) {
      const entry = (parent as unknown[])[Number(key)];
      const id = (entry as { id?: unknown } | null)?.id;
      (parent as unknown[])[Number(key)] = {
        id: typeof id === "string" && isComponentId(id) ? id : `invalid-${String(at[1])}-${key}`,
      };
      return at;
    }
    // An item of any other list goes with its list, so later indices keep their meaning.
    if (Array.isArray(parent)) continue;
    delete (parent as Record<string, unknown>)[String(key)];
    return at;
  }
  return undefined;
}

function nodeAt(root: unknown, path: readonly PathSegment[]): unknown {
  let node = root;
  for (const key of path) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[String(key)];
  }
  return node;
}

const samePath = (a: readonly PathSegment[], b: readonly PathSegment[]) =>
  a.length === b.length && a.every((item, i) => item === b[i]);
