/** The one collector every step of `parsePipeline` reports to, so a file's problems come together. */
import { ConfigError, type ConfigIssue } from "./config_error.ts";
import { touchesCut } from "./_schema_draft.ts";
import { formatPath, type PathSegment, type Position, type YamlSource } from "./yaml_path.ts";

/** Gathers located issues and warnings of one pipeline file; steps report and carry on. */
export class IssueCollector {
  readonly warnings: ConfigIssue[] = [];
  readonly #issues: ConfigIssue[] = [];
  readonly #file: string;
  #source: YamlSource | undefined;
  #cut: PathSegment[][] = [];

  constructor(file: string) {
    this.#file = file;
  }

  /** Lets later reports find their line and column by path in `source`. */
  attach(source: YamlSource): void {
    this.#source = source;
  }

  /**
   * Parts of the file whose schema problems are already reported: later steps saw them cut out,
   * so what they say there (a missing command, a dangling input) would be noise.
   */
  ignoreUnder(cut: readonly PathSegment[][]): void {
    this.#cut.push(...cut);
  }

  /** The plain scalar at `path` as written in the file, if there is one. */
  scalarText(path: readonly PathSegment[]): string | undefined {
    return this.#source?.scalarText(path);
  }

  /** Line and column of `path` (of its key when `atKey`); 0:0 before a document is attached. */
  #locate(path: readonly PathSegment[], atKey = false): Position {
    return this.#source?.locate(path, atKey) ?? { line: 0, column: 0 };
  }

  /** Records a problem at an explicit position. */
  add(position: Position, path: readonly PathSegment[], message: string): void {
    this.#issues.push({
      file: this.#file,
      line: position.line,
      column: position.column,
      path: clip(formatPath(path)),
      message: clip(message),
    });
  }

  /** Records a problem at the node `path` points to (at its key when `atKey`). */
  report(path: readonly PathSegment[], message: string, atKey = false): void {
    if (touchesCut(path, this.#cut)) return;
    this.add(this.#locate(path, atKey), path, message);
  }

  /** Records a problem that leaves the file valid (an unset variable). */
  warn(path: readonly PathSegment[], message: string): void {
    if (path.length > 0 && touchesCut(path, this.#cut)) return;
    const { line, column } = this.#locate(path);
    const where = formatPath(path);
    // A script naming the same unset variable twice is one warning.
    if (this.warnings.some((w) => w.path === where && w.message === message)) return;
    this.warnings.push({ file: this.#file, line, column, path: where, message });
  }

  /**
   * Throws a ConfigError with every problem so far, if there is any: in file order, or in the
   * order found for YAML syntax errors, where the parser's first error is the cause of the rest.
   */
  throwIfAny(order: "file" | "found" = "file"): void {
    if (this.#issues.length > 0) this.fail({ order });
  }

  /** Throws a ConfigError with every problem so far; call it after reporting. */
  fail(options: ErrorOptions & { order?: "file" | "found" } = {}): never {
    const { order = "file", ...errorOptions } = options;
    if (order === "file") this.#issues.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new ConfigError(this.#issues, { ...errorOptions, warnings: this.warnings });
  }
}

/** Keeps messages one readable line: long quoted values are cut, control characters escaped. */
export function clip(message: string): string {
  const short = message
    .replace(
      /"([^"]{60,})"/g,
      (_, value: string) => `"${value.slice(0, 40)}…" (${value.length} characters)`,
    )
    .replace(
      // deno-lint-ignore no-control-regex
      /[\u0000-\u0008\u000b-\u001f\u007f\u2028\u2029]/g,
      (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
    )
    .replaceAll("\n", "\\n");
  return short.length > 500 ? `${short.slice(0, 499)}…` : short;
}
