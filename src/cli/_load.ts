/** Reads a pipeline file (or standard input) and the `.env` beside it, then parses it. */
import { dirname } from "node:path";
import { absolutePath } from "../absolute_path.ts";
import {
  ConfigError,
  MAX_PIPELINE_BYTES,
  type OrchestratorKind,
  parseDotenv,
  type ParsedPipeline,
  parsePipelineSource,
} from "../config/mod.ts";
import { readPipelineYaml } from "./_yaml_cache.ts";
import { UserError } from "../user_error.ts";
import { InputFileError, readInputFile, readInputFileSync } from "../trust/read_input.ts";

export interface LoadOptions {
  orchestrator?: OrchestratorKind;
  /** Event types that never meet are errors, not warnings. */
  strict?: boolean;
  /** Where `type: name@version` names without "/" live. */
  componentRegistry?: string | undefined;
  /** Enabled profiles (`--profile`). */
  profiles?: readonly string[];
  /** Stops waiting on standard input (Ctrl+C or SIGTERM while `run -` reads it). */
  signal?: AbortSignal;
}

/** A signal came while the pipeline was still being read from standard input. */
export class InputInterruptedError extends UserError {
  override name = "InputInterruptedError";
}

/**
 * Loads `file` ("-" reads standard input, relative paths then resolve against the current folder).
 * @throws {ConfigError} when the file cannot be read or is invalid.
 */
export async function loadPipelineFile(
  file: string,
  options: LoadOptions = {},
): Promise<ParsedPipeline> {
  const fromStdin = file === "-";
  const path = fromStdin ? "-" : absolutePath(file);
  const dir = fromStdin ? Deno.cwd() : dirname(path);
  const text = fromStdin ? await readStdin(options.signal) : await readFile(file, path);
  const dotenv = await readDotenv(file, `${dir}/.env`);
  const source = await readPipelineYaml(text);
  return parsePipelineSource(text, {
    readYaml: () => source,
    file,
    dir,
    // `$PWD` is written in files as the folder flowctl runs in, even where no shell set it.
    env: { PWD: Deno.cwd(), ...Deno.env.toObject() },
    ...(dotenv ? { dotenv } : {}),
    ...(options.orchestrator ? { orchestrator: options.orchestrator } : {}),
    ...(options.strict ? { strict: true } : {}),
    ...(options.componentRegistry ? { componentRegistry: options.componentRegistry } : {}),
    ...(options.profiles ? { profiles: options.profiles } : {}),
    readEnvFile,
  });
}

/** Reads an `env_file`: a regular file only, with the same 1 MiB cap as pipeline files. */
function readEnvFile(path: string): string {
  try {
    return new TextDecoder().decode(readInputFileSync(path, MAX_PIPELINE_BYTES));
  } catch (error) {
    if (!(error instanceof InputFileError) || !error.message.startsWith("is larger")) throw error;
    throw new Error(tooLarge("env files"));
  }
}

async function readFile(shown: string, path: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await readInputFile(path, MAX_PIPELINE_BYTES);
  } catch (error) {
    if (error instanceof InputFileError) {
      const tooBig = error.message.startsWith("is larger");
      throw new ConfigError([
        issue(shown, tooBig ? `file is ${tooLarge("pipeline files")}` : pipelineProblem(error)),
      ], { cause: error });
    }
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : (error as Error).message;
    throw new ConfigError([issue(shown, `cannot read pipeline file: ${reason}`)], { cause: error });
  }
  return decodeText(shown, bytes, "file");
}

/** A folder keeps its old message; anything else not regular says what it is. */
function pipelineProblem(error: InputFileError): string {
  return error.message === "is a folder, not a file"
    ? "is a folder, not a pipeline file"
    : `${error.message}; flowctl reads pipeline files only from regular files (or "-")`;
}

async function readStdin(signal: AbortSignal | undefined): Promise<string> {
  // Standard input may never end; a signal must still be able to stop flowctl.
  const { promise: stopped, reject } = Promise.withResolvers<never>();
  const onAbort = () =>
    reject(
      new InputInterruptedError(
        `Stopped (${signal?.reason}) while reading the pipeline from standard input`,
      ),
    );
  if (signal?.aborted) onAbort();
  signal?.addEventListener("abort", onAbort, { once: true });
  let bytes: Uint8Array | undefined;
  try {
    bytes = await Promise.race([readAtMost(Deno.stdin, MAX_PIPELINE_BYTES), stopped]);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  if (!bytes) throw new ConfigError([issue("-", `input is ${tooLarge("pipeline files")}`)]);
  return decodeText("-", bytes, "input");
}

const tooLarge = (files: string) =>
  `larger than ${MAX_PIPELINE_BYTES} bytes; ${files} are limited to that (1 MiB)`;

/**
 * Reads up to `limit` bytes and one more, so an endless input (`/dev/zero`, a pipe that never
 * closes after its first megabyte) ends the read; undefined when there is more than `limit`.
 */
async function readAtMost(
  reader: { read(buffer: Uint8Array): Promise<number | null> },
  limit: number,
): Promise<Uint8Array | undefined> {
  const buffer = new Uint8Array(limit + 1);
  let filled = 0;
  while (filled < buffer.length) {
    const count = await reader.read(buffer.subarray(filled));
    if (count === null) break;
    filled += count;
  }
  return filled > limit ? undefined : buffer.subarray(0, filled);
}

function decodeText(shown: string, bytes: Uint8Array, what: "file" | "input"): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw new ConfigError([issue(shown, `${what} is not UTF-8 text`)], { cause: error });
  }
}

async function readDotenv(
  shown: string,
  path: string,
): Promise<Record<string, string> | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await readInputFile(path, MAX_PIPELINE_BYTES);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    const tooBig = error instanceof InputFileError && error.message.startsWith("is larger");
    throw new ConfigError([
      issue(
        path,
        tooBig
          ? `.env is ${tooLarge(".env files")}`
          : `cannot read .env: ${(error as Error).message}`,
      ),
    ], { cause: error });
  }
  try {
    return parseDotenv(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new ConfigError([
      issue(path, `invalid .env beside ${shown}: ${(error as Error).message}`),
    ], { cause: error });
  }
}

function issue(file: string, message: string) {
  return { file, line: 0, column: 0, path: "", message };
}
