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

/** The longest delay a timer takes (`setTimeout` overflows past 2^31-1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The longest duration a pipeline file may give (intervals, timeouts, periods): 24 hours. */
export const MAX_DURATION_MS = 24 * 3_600_000;

/**
 * Parses a Go-style duration such as `1m30s` into milliseconds.
 * @throws {SyntaxError} when the string is not a duration.
 * @throws {RangeError} when it is longer than a timer can wait (`MAX_TIMER_MS`).
 */
export function parseDuration(text: string): number {
  if (!DURATION_PATTERN.test(text)) {
    throw new SyntaxError(`invalid duration "${text}": expected a number with a unit, like "10s"`);
  }
  let total = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ""] ?? 0);
  }
  if (!(total <= MAX_TIMER_MS)) {
    throw new RangeError(`duration "${text}" is too long: at most ${formatDuration(MAX_TIMER_MS)}`);
  }
  return total;
}

/**
 * Formats milliseconds as a Go-style duration that `parseDuration` reads back:
 * `250ms`, `1.5s`, `1m30s`, `2h`.
 */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = Number(((ms % 60_000) / 1000).toFixed(3));
  return `${hours ? `${hours}h` : ""}${minutes ? `${minutes}m` : ""}${
    seconds ? `${seconds}s` : ""
  }`;
}
