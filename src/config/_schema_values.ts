/**
 * The building blocks of the pipeline file's schema: strict objects with "did you mean" for
 * unknown keys, and the values (text, durations, ports, words, ids) its entries are made of.
 */
import * as v from "valibot";
import { didYouMean } from "./_suggest.ts";
import { DURATION_PATTERN } from "./duration.ts";

/**
 * Component ids, the one rule for `validate` and `run`: ids become log file names (`<id>.log`),
 * container names (`<pipeline>-<id>`) and DNS aliases, so they are dot-separated labels of
 * lowercase letters, digits, "-" and "_" that start and end with a letter or digit (no `..`, no
 * leading or trailing punctuation).
 */
export const ID_PATTERN =
  /^[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?)*$/;
export const ID_MAX_LENGTH = 63;
export const ID_CHARACTERS = /^[a-z0-9][a-z0-9_.-]*$/;
export const PIPELINE_NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
/** Profile names as compose has them. */
export const PROFILE_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export const UNKNOWN_KEY = "\u0000unknown-key:";

/**
 * A closed mapping. Every unknown key is reported (strictObject stops at the first), with the
 * closest known key suggested; see `issueMessage`.
 */
export function strict<const T extends v.ObjectEntries>(
  what: string,
  entries: T,
  hints: Record<string, string> = {},
) {
  const candidates = JSON.stringify({ keys: Object.keys(entries), hints });
  return v.objectWithRest(
    entries,
    v.never(() => UNKNOWN_KEY + candidates),
    (issue: v.ObjectWithRestIssue) =>
      issue.input === undefined
        ? `missing required key ${issue.expected}`
        : `expected ${what} (a mapping), got ${issue.received}`,
  );
}

/** The user-facing message of a schema issue (unknown keys get their "did you mean" here). */
export function issueMessage(issue: v.BaseIssue<unknown>): string {
  if (!issue.message.startsWith(UNKNOWN_KEY)) return issue.message;
  const { keys, hints } = JSON.parse(issue.message.slice(UNKNOWN_KEY.length)) as {
    keys: string[];
    hints: Record<string, string>;
  };
  const key = String(issue.path?.at(-1)?.key ?? "");
  return `unknown key "${key}"${hints[key] ?? didYouMean(key, keys)}`;
}

export const text = (what = "a string") =>
  v.string((issue) => `expected ${what}, got ${issue.received}`);

export const durationText = v.pipe(
  text('a duration such as "10s"'),
  v.regex(
    DURATION_PATTERN,
    (issue) =>
      `invalid duration ${issue.received}: use a number with a unit (ms, s, m, h), like "10s"`,
  ),
);

export const integerIn = (what: string, min: number, max: number) =>
  v.pipe(
    v.number((issue) => `expected ${what}, got ${issue.received}`),
    v.integer((issue) => `expected ${what}, got ${issue.received}`),
    v.minValue(min, (issue) => `${what} must be at least ${min}, got ${issue.received}`),
    v.maxValue(max, (issue) => `${what} must be at most ${max}, got ${issue.received}`),
  );

export const port = integerIn("a port number (1-65535)", 1, 65535);

/**
 * A word of `command` or `args`: numbers and booleans count as their text, as in docker compose
 * (`[sleep, 5]`).
 */
export const word = v.union(
  [v.string(), v.number(), v.boolean()],
  (issue) => `expected a string, number or boolean, got ${issue.received}`,
);
export const wordList = v.array(word, (issue) => `expected a list of words, got ${issue.received}`);

export const componentId = v.pipe(
  text("an id"),
  v.maxLength(
    ID_MAX_LENGTH,
    (issue) => `id is too long (${issue.received} characters, at most ${ID_MAX_LENGTH})`,
  ),
  v.regex(
    ID_PATTERN,
    (issue) =>
      ID_CHARACTERS.test(String(issue.input))
        ? `invalid id ${issue.received}: it must end with a letter or digit, and each "." needs a letter or digit on both sides`
        : `invalid id ${issue.received}: use lowercase letters, digits, "-", "_" and "." and start with a letter or digit`,
  ),
);

/** Whether `id` follows the component id rule (`ID_PATTERN`, at most 63 characters). */
export function isComponentId(id: string): boolean {
  return id.length <= ID_MAX_LENGTH && ID_PATTERN.test(id);
}

/** Names the first item of a list that is not a scalar, as YAML calls it: `a mapping at [2]`. */
export function describeItems(items: readonly unknown[]): string {
  const at = items.findIndex((item) => !["string", "number", "boolean"].includes(typeof item));
  const item = items[at];
  const what = item === null ? "null" : Array.isArray(item) ? "a list" : "a mapping";
  return at < 0 ? "a list" : `${what} at [${at}]`;
}

export const envValue = v.union(
  [v.string(), v.number(), v.boolean()],
  (issue) => `expected a string, number or boolean, got ${issue.received}`,
);

export const flag = v.boolean((issue) => `expected true or false, got ${issue.received}`);
export const textList = (what: string) =>
  v.array(text(), (issue) => `expected a list of ${what}, got ${issue.received}`);
export const textMap = (what: string) =>
  v.record(text(), text(), (issue) => `expected a mapping of ${what}, got ${issue.received}`);

/** `config` values: scalars, stringified as written (numbers) or as true/false. */
const configScalar = v.union([v.string(), v.number(), v.boolean()]);
export const configMap = v.record(
  text(),
  // A list is the Go flowctl's: accepted with a warning (an error with --strict), see
  // parse_pipeline.ts; it becomes comma-separated text.
  v.union(
    [configScalar, v.array(configScalar)],
    (issue) => `expected a string, number or boolean, got ${issue.received}`,
  ),
  (issue) => `expected a mapping of settings, got ${issue.received}`,
);
