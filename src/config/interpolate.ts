/**
 * Compose-style variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?message}`, `${VAR?message}`, `${VAR:+alt}`, `${VAR+alt}`, `$$` for a literal `$`, and
 * component references `${components.<id>.host|endpoint|ports.<name>}`.
 *
 * One departure from compose: a bare `$name` that is not set stays as written (with a warning),
 * because files of the Go flowctl pass shell scripts in `args` that use their own variables
 * (`while read line; do echo "$line"; done`). `${name}` unset is still empty.
 */

import type { PathSegment } from "./yaml_path.ts";

/** Interpolation of one value of the file; a failure is reported at `at`. */
export type Expand = (value: string, at: PathSegment[]) => string;

/** Where interpolation looks up names. */
export interface InterpolationContext {
  /** The value of a variable, or undefined when unset. */
  lookup(name: string): string | undefined;
  /**
   * The value of a component reference (`<id>.host`, `<id>.endpoint`, `<id>.ports.<name>`).
   * @throws {ReferenceError} when the reference names no component or port.
   */
  resolveComponent(reference: string): string;
  /** Called for a variable that is unset and has no default. */
  warn(message: string): void;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const REFERENCE = /^components\.[A-Za-z0-9_.-]+/;

/**
 * Replaces every variable and component reference in `text`.
 * @throws {SyntaxError} on a malformed expression.
 * @throws {ReferenceError} for `${VAR:?message}` with VAR unset or an unknown component reference.
 */
export function interpolate(text: string, context: InterpolationContext): string {
  if (!text.includes("$")) return text;
  const [value, end] = parseText(text, 0, false, context);
  if (end !== text.length) throw new SyntaxError(`unexpected "}" at offset ${end} in "${text}"`);
  return value;
}

function parseText(
  text: string,
  start: number,
  insideBraces: boolean,
  context: InterpolationContext,
): [string, number] {
  let out = "";
  let i = start;
  while (i < text.length) {
    const ch = text[i];
    if (ch === "}" && insideBraces) return [out, i];
    if (ch !== "$") {
      out += ch;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === "$") {
      out += "$";
      i += 2;
    } else if (next === "{") {
      const [value, end] = parseBraced(text, i + 2, context);
      out += value;
      i = end;
    } else {
      const name = NAME.exec(text.slice(i + 1))?.[0];
      if (name) {
        const value = context.lookup(name);
        if (value === undefined) {
          context.warn(`variable "${name}" is not set; "$${name}" is left as written`);
        }
        out += value ?? `$${name}`;
        i += 1 + name.length;
      } else {
        out += "$";
        i++;
      }
    }
  }
  if (insideBraces) throw new SyntaxError(`missing closing "}" in "${text}"`);
  return [out, i];
}

/** Parses the inside of `${…}` starting after the brace; returns the value and the index after `}`. */
function parseBraced(text: string, start: number, context: InterpolationContext): [string, number] {
  const rest = text.slice(start);
  const reference = REFERENCE.exec(rest)?.[0];
  if (reference) {
    if (text[start + reference.length] !== "}") {
      throw new SyntaxError(`invalid component reference "\${${rest}": expected "}"`);
    }
    const value = context.resolveComponent(reference.slice("components.".length));
    return [value, start + reference.length + 1];
  }
  const name = NAME.exec(rest)?.[0];
  if (!name) throw new SyntaxError(`invalid interpolation "\${${rest}": expected a variable name`);
  let i = start + name.length;
  const colon = text[i] === ":";
  if (colon) i++;
  const operator = text[i];
  if (operator === "}" && !colon) return [lookupOrWarn(name, context), i + 1];
  if (operator !== "-" && operator !== "?" && operator !== "+") {
    throw new SyntaxError(`invalid interpolation format for "\${${rest}"`);
  }
  const [word, end] = parseText(text, i + 1, true, context);
  const raw = context.lookup(name);
  const isSet = colon ? raw !== undefined && raw !== "" : raw !== undefined;
  let value: string;
  if (operator === "-") value = isSet ? raw ?? "" : word;
  else if (operator === "+") value = isSet ? word : "";
  else if (isSet) value = raw ?? "";
  else {
    const reason = word ? `: ${word}` : "";
    throw new ReferenceError(
      `required variable "${name}" is ${colon ? "unset or empty" : "unset"}${reason}`,
    );
  }
  return [value, end + 1];
}

function lookupOrWarn(name: string, context: InterpolationContext): string {
  const value = context.lookup(name);
  if (value === undefined) {
    context.warn(`variable "${name}" is not set; using an empty string`);
    return "";
  }
  return value;
}
