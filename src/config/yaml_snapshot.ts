/**
 * A parsed document kept as plain JSON, so a later run of the same file needs no YAML parser:
 * loading `npm:yaml` costs `flowctl run` about 40 ms, a quarter of its start. It answers every
 * question of YamlSource exactly as the parsed document did: its data, the position of every
 * path (the first of equal keys, the nearest ancestor of a missing path) and the text of every
 * scalar that is not a string. Only documents without syntax errors or aliases are kept.
 */
import * as v from "valibot";
import type { PathSegment, Position, YamlSource } from "./yaml_path.ts";

const Place = v.tuple([v.number(), v.number(), v.number(), v.number()]);

export const YamlSnapshotSchema = v.object({
  /** The document as plain data (what toJS() gave). */
  data: v.unknown(),
  /** Line and column of the document's root node. */
  root: v.tuple([v.number(), v.number()]),
  /** Every path's value position and key position (line, column, line, column), by placeKey. */
  places: v.record(v.string(), Place),
  /** Source text of scalars that are not strings, by the key scalarText looks up. */
  texts: v.record(v.string(), v.string()),
});

export type YamlSnapshot = v.InferOutput<typeof YamlSnapshotSchema>;

/** The key of `segment` under the place `parent`: a map key (k) or a sequence index (i). */
export function placeKey(parent: string, segment: PathSegment): string {
  return typeof segment === "number" ? `${parent}\0i${segment}` : `${parent}\0k${segment}`;
}

/** The document a snapshot was taken of. */
export function sourceFromSnapshot(snapshot: YamlSnapshot): YamlSource {
  const { places, texts } = snapshot;
  const locate = (path: readonly PathSegment[], atKey = false): Position => {
    let [line, column] = snapshot.root;
    let key = "";
    for (let i = 0; i < path.length; i++) {
      const segment = path[i] as PathSegment;
      // A number reaches a sequence item, or a map key that reads the same (as locate compares).
      const next = [placeKey(key, segment), placeKey(key, String(segment))]
        .find((candidate) => places[candidate] !== undefined);
      const place = next === undefined ? undefined : places[next];
      if (next === undefined || place === undefined) break;
      const last = i === path.length - 1;
      [line, column] = last && atKey ? [place[2], place[3]] : [place[0], place[1]];
      key = next;
    }
    return { line, column };
  };
  const scalarText = (path: readonly PathSegment[]): string | undefined => {
    let keys = [""];
    for (const segment of path) {
      // As getIn: map keys match by value and type; sequence indexes also as digit strings.
      const steps = typeof segment === "number"
        ? [`n${segment}`, `i${segment}`]
        : [`s${segment}`, ...(/^\d+$/.test(segment) ? [`i${Number(segment)}`] : [])];
      keys = keys.flatMap((key) => steps.map((step) => `${key}\0${step}`));
    }
    return keys.map((key) => texts[key]).find((text) => text !== undefined);
  };
  return {
    syntaxErrors: [],
    toJS: () => structuredClone(snapshot.data),
    locate,
    scalarText,
  };
}
