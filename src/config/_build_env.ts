/** A component's `env` and `env_file`s, as the "build components" step of `parsePipeline` reads them. */
import type { IssueCollector } from "./_issues.ts";
import { resolveDir } from "./_build_storage.ts";
import type { BuildContext } from "./_build_component.ts";
import { parseDotenv } from "./dotenv.ts";
import type { Expand } from "./interpolate.ts";
import type { ComponentSpec } from "./schema.ts";
import type { PathSegment } from "./yaml_path.ts";

/**
 * The variables of the component's `env_file`s (compose syntax, read as written: no
 * interpolation), later files winning; a file that cannot be read or parsed is reported at its
 * entry.
 */
export function readEnvFiles(
  spec: ComponentSpec,
  path: PathSegment[],
  context: BuildContext,
): Record<string, string> {
  const written = spec.env_file;
  if (written === undefined) return {};
  const files = typeof written === "string"
    ? [{ file: written, at: [...path, "env_file"] }]
    : written.map((file, i) => ({ file, at: [...path, "env_file", i] }));
  const values: Record<string, string> = {};
  for (const { file, at } of files) {
    const absolute = resolveDir(context.dir, file);
    if (!context.envFiles.includes(absolute)) context.envFiles.push(absolute);
    let text: string;
    try {
      if (!context.readEnvFile) throw new Error("env files cannot be read here");
      text = context.readEnvFile(absolute);
    } catch (error) {
      const reason = error instanceof Deno.errors.NotFound
        ? "no such file"
        : error instanceof Error
        ? error.message
        : String(error);
      context.issues.report(at, `cannot read env_file "${file}" (${absolute}): ${reason}`);
      continue;
    }
    try {
      Object.assign(values, parseDotenv(text));
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      context.issues.report(at, `invalid env_file "${file}": ${error.message}`);
    }
  }
  return values;
}

export function buildEnv(
  spec: ComponentSpec,
  path: PathSegment[],
  expand: Expand,
  issues: IssueCollector,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(spec.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      issues.report([...path, "env", key], `invalid variable name "${key}"`, true);
    }
    env[key] = expand(String(value), [...path, "env", key]);
  }
  return env;
}
