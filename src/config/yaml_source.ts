/** A parsed YAML document that can point at the line and column of any path in it. */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { Document, Node } from "yaml";
import { MAX_ALIAS_COUNT, type PathSegment, type Position, type YamlSource } from "./yaml_path.ts";
import { placeKey, type YamlSnapshot } from "./yaml_snapshot.ts";

/** A parsed document, and how to keep it for a later run (see yaml_snapshot.ts). */
export interface ParsedYaml extends YamlSource {
  /** The document as a snapshot; undefined when it cannot be kept as one (see snapshotOf). */
  snapshot(): YamlSnapshot | undefined;
}

/** Parses YAML text keeping node positions; never throws for bad input. */
export function parseYamlSource(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const position = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const syntaxErrors = doc.errors.map((error) => ({
    message: firstLine(error.message),
    line: error.linePos?.[0].line ?? 0,
    column: error.linePos?.[0].col ?? 0,
  }));

  const locate = (path: readonly PathSegment[], atKey = false): Position => {
    let node: unknown = doc.contents;
    let offset = rangeStart(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      if (isAlias(node)) node = node.resolve(doc);
      const segment = path[i];
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) =>
          isScalar(p.key) && String(p.key.value) === String(segment)
        );
        if (!pair) break;
        const value = pair.value as Node | null;
        const keyOffset = rangeStart(pair.key);
        offset = (last && atKey) || value === null
          ? keyOffset ?? offset
          : rangeStart(value) ?? offset;
        node = value;
      } else if (isSeq(node) && typeof segment === "number") {
        const item = node.items[segment];
        if (item === undefined) break;
        offset = rangeStart(item) ?? offset;
        node = item;
      } else {
        break;
      }
    }
    return position(offset);
  };
  const scalarText = (path: readonly PathSegment[]): string | undefined => {
    const node = doc.getIn(path, true);
    return isScalar(node) && typeof node.source === "string" && typeof node.value !== "string"
      ? node.source
      : undefined;
  };
  const toJS = () => doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  return {
    syntaxErrors,
    toJS,
    locate,
    scalarText,
    snapshot: () => syntaxErrors.length > 0 ? undefined : snapshotOf(doc, toJS(), position),
  };
}

/**
 * Every place a lookup can reach, found by the same walk as `locate` and `scalarText` take.
 * Undefined for a document with aliases (a lookup resolves them; a snapshot would have to copy
 * what they expand to) or whose data JSON would not give back as it is (see isPlainJson).
 */
function snapshotOf(
  doc: Document,
  data: unknown,
  position: (offset: number) => Position,
): YamlSnapshot | undefined {
  if (!isPlainJson(data)) return undefined;
  const at = (offset: number): [number, number] => {
    const { line, column } = position(offset);
    return [line, column];
  };
  const rootOffset = rangeStart(doc.contents) ?? 0;
  const snapshot: YamlSnapshot = { data, root: at(rootOffset), places: {}, texts: {} };
  let aliased = false;
  /** `text` is the path in scalarText's terms (undefined below a key getIn cannot name). */
  const walk = (node: unknown, place: string, text: string | undefined, offset: number) => {
    if (isAlias(node)) aliased = true;
    else if (isMap(node)) {
      for (const pair of node.items) {
        if (!isScalar(pair.key)) continue;
        const value = pair.value as Node | null;
        const keyOffset = rangeStart(pair.key) ?? offset;
        const valueOffset = value === null ? keyOffset : rangeStart(value) ?? offset;
        const child = placeKey(place, String(pair.key.value));
        // The first of equal keys is the one a lookup finds.
        snapshot.places[child] ??= [...at(valueOffset), ...at(keyOffset)];
        const key = pair.key.value;
        const childText = text === undefined
          ? undefined
          : typeof key === "string"
          ? `${text}\0s${key}`
          : typeof key === "number"
          ? `${text}\0n${key}`
          : undefined;
        addText(value, childText);
        walk(value, child, childText, valueOffset);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        const itemOffset = rangeStart(item) ?? offset;
        const child = placeKey(place, index);
        snapshot.places[child] = [...at(itemOffset), ...at(itemOffset)];
        const childText = text === undefined ? undefined : `${text}\0i${index}`;
        addText(item, childText);
        walk(item, child, childText, itemOffset);
      });
    }
  };
  const addText = (node: unknown, key: string | undefined) => {
    if (key === undefined || !isScalar(node) || typeof node.source !== "string") return;
    // getIn finds the first of equal keys too.
    if (typeof node.value !== "string") snapshot.texts[key] ??= node.source;
  };
  walk(doc.contents, "", "", rootOffset);
  return aliased ? undefined : snapshot;
}

/** Whether JSON gives `data` back unchanged: finite numbers, no -0, no `__proto__` keys. */
function isPlainJson(data: unknown): boolean {
  if (data === null || typeof data === "string" || typeof data === "boolean") return true;
  if (typeof data === "number") return Number.isFinite(data) && !Object.is(data, -0);
  if (Array.isArray(data)) return data.every(isPlainJson);
  if (typeof data !== "object" || Object.getPrototypeOf(data) !== Object.prototype) return false;
  return Object.entries(data).every(([key, value]) => key !== "__proto__" && isPlainJson(value)) &&
    !Object.hasOwn(data, "__proto__");
}

function rangeStart(node: unknown): number | undefined {
  if (node && typeof node === "object" && "range" in node) {
    const range = (node as { range?: [number, number, number] | null }).range;
    return range?.[0];
  }
  return undefined;
}

/** The parser's message without its " at line X, column Y:" tail and code excerpt. */
function firstLine(message: string): string {
  return (message.split("\n")[0] ?? message).replace(/ at line \d+, column \d+:?$/, "");
}
