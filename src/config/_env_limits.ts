/**
 * The kernel's limits on a process's environment, checked when a file is validated rather than
 * found at spawn: no string of argv or the environment may hold a NUL byte (C strings end
 * there), one string may be at most MAX_ARG_STRLEN (128 KiB, counting `KEY=` and the NUL), and
 * all of them together at most ARG_MAX (2 MiB with the usual 8 MiB stack).
 */
import type { IssueCollector } from "./_issues.ts";
import type { PathSegment } from "./yaml_path.ts";

/** Linux's MAX_ARG_STRLEN: 32 pages of 4 KiB. */
export const MAX_ARG_STRLEN = 131_072;
/** Linux's ARG_MAX with the default 8 MiB stack limit (a quarter of it). */
export const ARG_MAX = 2_097_152;

const encoder = new TextEncoder();

/**
 * Reports what no kernel would let a component start with: NUL bytes, a variable or argument
 * longer than MAX_ARG_STRLEN, or all of them together over ARG_MAX.
 * A variable is located at its `env` entry when `written` there, else at the `env_file` list.
 */
export function checkEnvLimits(
  env: Readonly<Record<string, string>>,
  argv: readonly string[],
  component: { path: PathSegment[]; written: readonly string[] },
  issues: IssueCollector,
): void {
  const { path } = component;
  const where = (key: string): PathSegment[] =>
    component.written.includes(key) ? [...path, "env", key] : [...path, "env_file"];
  // Each string costs its bytes, its NUL and a pointer in the argv/envp arrays.
  let total = 0;
  for (const [index, arg] of argv.entries()) {
    const bytes = encoder.encode(arg).length + 1;
    total += bytes + 8;
    if (arg.includes("\0")) {
      issues.report([...path, "command"], `argument ${index + 1} contains a NUL byte`);
    } else if (bytes > MAX_ARG_STRLEN) {
      issues.report(
        [...path, "command"],
        `argument ${
          index + 1
        } is ${bytes} bytes; the kernel allows at most ${MAX_ARG_STRLEN} per argument`,
      );
    }
  }
  for (const [key, value] of Object.entries(env)) {
    const bytes = encoder.encode(`${key}=${value}`).length + 1;
    total += bytes + 8;
    if (value.includes("\0") || key.includes("\0")) {
      issues.report(
        where(key),
        `env "${key}" contains a NUL byte, which no process environment can hold`,
      );
    } else if (bytes > MAX_ARG_STRLEN) {
      issues.report(
        where(key),
        `env "${key}" is ${bytes} bytes; the kernel allows at most ${MAX_ARG_STRLEN} per variable (MAX_ARG_STRLEN)`,
      );
    }
  }
  if (total > ARG_MAX) {
    issues.report(
      [...path, "env"],
      `command and env take ${total} bytes together; the kernel allows at most ${ARG_MAX} (ARG_MAX), flowctl's own environment not counted`,
    );
  }
}
