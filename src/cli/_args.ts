/** Strict argument parsing on top of node:util parseArgs, turning its errors into UsageErrors. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { didYouMean } from "../config/_suggest.ts";
import { parseDuration } from "../config/duration.ts";
import { ORCHESTRATOR_KINDS, type OrchestratorKind } from "../config/pipeline.ts";
import { parseRegistryBase } from "../registry/reference.ts";
import { UsageError } from "./usage_error.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Parses `args` for `command`; unknown options and missing values are usage errors. */
export function parseCommandArgs<T extends Options>(command: string, args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0] ?? "" : String(error);
    // A misspelt option gets the same "did you mean" as misspelt commands, ids and keys.
    const unknown = /^Unknown option '(--[^']+)'/.exec(message)?.[1];
    const known = Object.keys(options).map((name) => `--${name}`);
    throw new UsageError(
      message.replace(/\. To specify a positional.*$/, "") +
        (unknown ? didYouMean(unknown, known) : ""),
      `run "flowctl ${command} --help"`,
      { cause: error },
    );
  }
}

/** Reads `--output text|json`. */
export function outputFormat(command: string, value: string | undefined): "text" | "json" {
  if (value === undefined || value === "text" || value === "json") return value ?? "text";
  throw new UsageError(
    `invalid --output "${value}": use "text" or "json"`,
    `run "flowctl ${command} --help"`,
  );
}

/** Reads `--orchestrator process|container|swarm`. */
export function orchestratorKind(
  command: string,
  value: string | undefined,
): OrchestratorKind | undefined {
  if (value === undefined) return undefined;
  const kind = ORCHESTRATOR_KINDS.find((known) => known === value);
  if (kind) return kind;
  throw new UsageError(
    `invalid --orchestrator "${value}": use "process", "container" or "swarm"`,
    `run "flowctl ${command} --help"`,
  );
}

/** Exactly one positional: the pipeline file. */
export function singleFile(command: string, positionals: string[]): string {
  if (positionals.length === 1) return positionals[0] ?? "";
  const problem = positionals.length === 0
    ? "missing pipeline file"
    : `unexpected argument "${positionals[1]}"`;
  throw new UsageError(
    problem,
    `usage: flowctl ${command} <file|-> (see "flowctl ${command} --help")`,
  );
}

/**
 * Reads `--component-registry` (else FLOWCTL_COMPONENT_REGISTRY): where `type: name@version`
 * names without "/" live.
 */
export function componentRegistry(command: string, value: string | undefined): string | undefined {
  const chosen = value ?? Deno.env.get("FLOWCTL_COMPONENT_REGISTRY");
  if (!chosen) return undefined;
  try {
    parseRegistryBase(chosen);
  } catch (error) {
    const from = value === undefined ? "FLOWCTL_COMPONENT_REGISTRY" : "--component-registry";
    throw new UsageError(
      `${from}: ${(error as Error).message}`,
      `run "flowctl ${command} --help"`,
    );
  }
  return chosen;
}

/** `--control-plane-port`: 0 to 65535. */
export function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new UsageError(
      `invalid --control-plane-port "${text}": use a port number from 0 to 65535`,
      `run "flowctl run --help"`,
    );
  }
  return port;
}

/** `--heartbeat-interval`: a duration like "10s", in milliseconds. */
export function parseHeartbeat(text: string): number {
  try {
    return parseDuration(text);
  } catch {
    throw new UsageError(
      `invalid --heartbeat-interval "${text}": use a duration like "10s"`,
      `run "flowctl run --help"`,
    );
  }
}

/**
 * Every name in `names` must be a component of the pipeline: an unknown one is a usage error
 * (exit 2) with a suggestion and the list, the same for every command that takes ids.
 */
export function checkComponentNames(
  names: readonly string[],
  ids: readonly string[],
  pipeline: string,
): void {
  for (const name of names) {
    if (ids.includes(name)) continue;
    throw new UsageError(
      `no component "${name}" in pipeline "${pipeline}"${didYouMean(name, ids)}`,
      `components: ${ids.join(", ")}`,
    );
  }
}
