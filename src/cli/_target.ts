/**
 * How every command that acts on a running pipeline finds it, as `status` shows it: by its file,
 * by its name, or — with neither — the only pipeline running (as compose and pm2 need no file).
 */
import { existsSync } from "node:fs";
import { didYouMean, type Pipeline } from "../config/mod.ts";
import { isRunLive, listRunStates, type RunState } from "../state/state_file.ts";
import { UserError } from "../user_error.ts";
import { loadPipelineFile } from "./_load.ts";
import { UsageError } from "./usage_error.ts";

/** The pipeline a command acts on, and the arguments left after the one that named it. */
export interface PipelineTarget {
  /** `metadata.name`. */
  name: string;
  /** The file as given, or the file its run recorded. */
  file: string;
  /** The state of its running (or last) run, if there is one. */
  state: RunState | undefined;
  /** The positionals after the pipeline's; all of them when the only running one was taken. */
  rest: string[];
  /** The model, when the command line named the file (standard input is read once). */
  pipeline?: Pipeline;
}

/** A pipeline could not be told from the command line. */
export class NoPipelineError extends UserError {
  override name = "NoPipelineError";
}

/**
 * Finds the pipeline `positionals[0]` names (a file, `-`, or a pipeline's name); otherwise the
 * only running pipeline, and every positional is left for the command (component ids).
 * @throws {NoPipelineError} (exit 1) when none runs, {UsageError} when several do.
 */
export async function findPipeline(
  command: string,
  positionals: readonly string[],
): Promise<PipelineTarget> {
  const [first, ...rest] = positionals;
  if (first !== undefined && looksLikeFile(first)) {
    const { pipeline } = await loadPipelineFile(first);
    const state = (await listRunStates()).find((s) => s.pipeline === pipeline.name);
    return { name: pipeline.name, file: first, state, rest, pipeline };
  }
  const states = await listRunStates();
  const named = states.find((s) => s.pipeline === first);
  if (named) return { name: named.pipeline, file: named.file, state: named, rest };
  const live = states.filter(isRunLive);
  const only = live.length === 1 ? live[0] : undefined;
  if (only) return { name: only.pipeline, file: only.file, state: only, rest: [...positionals] };
  const names = states.map((s) => s.pipeline);
  if (live.length > 1) {
    throw new UsageError(
      `${live.length} pipelines are running (${quoted(live.map((s) => s.pipeline))})${
        first === undefined ? "" : `, and "${first}" is none of them${didYouMean(first, names)}`
      }`,
      `name one: flowctl ${command} <name|file> …`,
    );
  }
  throw new NoPipelineError(
    first === undefined
      ? 'no pipeline is running; start one with "flowctl run <file>"'
      : `no pipeline is running, and "${first}" is neither a pipeline file nor a pipeline's name${
        didYouMean(first, names)
      }`,
  );
}

/**
 * The pipeline `arg` names, by file or by name, running or not (`status NAME`).
 * @throws {NoPipelineError} when `arg` is neither a file nor the name of a known run.
 */
export async function findNamedPipeline(arg: string): Promise<PipelineTarget> {
  const states = await listRunStates();
  if (looksLikeFile(arg)) {
    const { pipeline } = await loadPipelineFile(arg);
    const state = states.find((s) => s.pipeline === pipeline.name);
    return { name: pipeline.name, file: arg, state, rest: [], pipeline };
  }
  const named = states.find((s) => s.pipeline === arg);
  if (named) return { name: named.pipeline, file: named.file, state: named, rest: [] };
  const names = states.map((s) => s.pipeline);
  throw new NoPipelineError(
    `no pipeline file or pipeline named "${arg}"${didYouMean(arg, names)}${
      names.length > 0 ? ` (known: ${quoted(names)})` : ""
    }`,
  );
}

/** The pipeline model of `target`, from its file, in the mode its run used. */
export async function loadTargetPipeline(target: PipelineTarget): Promise<Pipeline> {
  if (target.pipeline) return target.pipeline;
  if (target.file === "-") {
    throw new UsageError(
      `pipeline "${target.name}" was read from standard input; name its file`,
      `pass the pipeline file, e.g. flowctl down pipeline.yaml`,
    );
  }
  const orchestrator = target.state?.orchestrator;
  return (await loadPipelineFile(target.file, orchestrator ? { orchestrator } : {})).pipeline;
}

/** `-`, an existing file, or something written as a path or a YAML file name. */
function looksLikeFile(arg: string): boolean {
  if (arg === "-" || arg.includes("/") || /\.(ya?ml|json)$/i.test(arg)) return true;
  try {
    return existsSync(arg) && Deno.statSync(arg).isFile;
  } catch {
    return false;
  }
}

const quoted = (items: readonly string[]) => items.map((item) => `"${item}"`).join(", ");
