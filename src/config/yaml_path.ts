/**
 * Paths into a pipeline document and what a parsed document answers about them. No YAML parser
 * here: a document comes from `yaml_source.ts` (the parser) or `yaml_snapshot.ts` (a document
 * parsed by an earlier run), and everything after parsing works on this interface alone.
 */

export type PathSegment = string | number;

export interface Position {
  line: number;
  column: number;
}

/** Aliases a document may expand while it is read; more is an alias bomb. */
export const MAX_ALIAS_COUNT = 100;

export interface YamlSource {
  /** Errors from the YAML parser, already positioned. */
  syntaxErrors: { message: string; line: number; column: number }[];
  /**
   * The document as plain data.
   * @throws {Error} when it expands more than MAX_ALIAS_COUNT aliases.
   */
  toJS(): unknown;
  /** Line and column of the node at `path` (of its key when `atKey`), or of its nearest ancestor. */
  locate(path: readonly PathSegment[], atKey?: boolean): Position;
  /** The text of the plain scalar at `path` as written (`0.50`, not 0.5), if it is one. */
  scalarText(path: readonly PathSegment[]): string | undefined;
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
