/** Go-style duration strings (`10s`, `500ms`, `1m30s`) to milliseconds and back. */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Pattern of a duration string, shared with the schema so editors see it too. */
export const DURATION_PATTERN = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;

/**
 * Parses a Go-style duration such as `1m30s` into milliseconds.
 * @throws {SyntaxError} when the string is not a duration.
 */
export function parseDuration(text: string): number {
  if (!DURATION_PATTERN.test(text)) {
    throw new SyntaxError(`invalid duration "${text}": expected a number with a unit, like "10s"`);
  }
  let total = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ""] ?? 0);
  }
  return total;
}

/** Formats milliseconds compactly for messages: `250ms`, `1.5s`, `2m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
  return `${Number((ms / 60_000).toFixed(1))}m`;
}
