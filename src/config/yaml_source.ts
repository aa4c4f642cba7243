/** A parsed YAML document that can point at the line and column of any path in it. */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { Document, Node } from "yaml";

export type PathSegment = string | number;

export interface Position {
  line: number;
  column: number;
}

export interface YamlSource {
  doc: Document;
  /** Errors from the YAML parser, already positioned. */
  syntaxErrors: { message: string; line: number; column: number }[];
  /** Line and column of the node at `path` (of its key when `atKey`), or of its nearest ancestor. */
  locate(path: readonly PathSegment[], atKey?: boolean): Position;
  /** The text of the plain scalar at `path` as written (`0.50`, not 0.5), if it is one. */
  scalarText(path: readonly PathSegment[]): string | undefined;
}

/** Parses YAML text keeping node positions; never throws for bad input. */
export function parseYamlSource(text: string): YamlSource {
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
    return isScalar(node) && typeof node.source === "string" ? node.source : undefined;
  };
  return { doc, syntaxErrors, locate, scalarText };
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

/** Formats a path as users write it: `spec.processors[0].inputs[1]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}
