/** The user-facing output channels: command results on stdout, messages on stderr. */

const encoder = new TextEncoder();

export type OutputFormat = "text" | "json";

/** Writes whole lines synchronously, so lines from several sources never interleave mid-line. */
export interface Output {
  readonly format: OutputFormat;
  /** Whether colours may be used on stdout (a terminal and NO_COLOR unset). */
  readonly color: boolean;
  /** A result line on stdout. */
  line(text: string): void;
  /** One JSON event on stdout. */
  json(value: unknown): void;
  /** A message on stderr. */
  error(text: string): void;
  /** Raw bytes on stdout (already complete lines). */
  raw(bytes: Uint8Array): void;
  /** Text on stdout without a newline (terminal progress). */
  rawText(text: string): void;
}

/**
 * Writes all of `bytes`. A closed pipe (`flowctl run | head`) must never stop flowctl from
 * cleaning up, so write errors are swallowed and later writes to that file skipped.
 */
export function writeAll(file: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  if (broken.has(file)) return;
  try {
    let offset = 0;
    while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
  } catch {
    broken.add(file);
  }
}

const broken = new WeakSet<object>();

/** Output to the process's stdout and stderr. */
export function createOutput(format: OutputFormat): Output {
  const color = Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
  return {
    format,
    color,
    line: (text) => writeAll(Deno.stdout, encoder.encode(text + "\n")),
    json: (value) => writeAll(Deno.stdout, encoder.encode(JSON.stringify(value) + "\n")),
    error: (text) => writeAll(Deno.stderr, encoder.encode(text + "\n")),
    raw: (bytes) => writeAll(Deno.stdout, bytes),
    rawText: (text) => writeAll(Deno.stdout, encoder.encode(text)),
  };
}

const COLORS = [36, 33, 35, 32, 34, 91, 96, 93, 95, 92];

/** Wraps `text` in the ANSI colour picked for `index`. */
export function paint(text: string, index: number): string {
  return `\x1b[${COLORS[index % COLORS.length]}m${text}\x1b[0m`;
}
