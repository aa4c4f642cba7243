/** Reads a pipeline file (or standard input) and the `.env` beside it, then parses it. */
import { dirname, resolve } from "node:path";
import {
  ConfigError,
  MAX_PIPELINE_BYTES,
  type OrchestratorKind,
  parseDotenv,
  type ParsedPipeline,
  parsePipeline,
} from "../config/mod.ts";

export interface LoadOptions {
  orchestrator?: OrchestratorKind;
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
  const path = fromStdin ? "-" : resolve(file);
  const dir = fromStdin ? Deno.cwd() : dirname(path);
  const text = fromStdin ? await readStdin() : await readFile(file, path);
  const dotenv = await readDotenv(file, `${dir}/.env`);
  return parsePipeline(text, {
    file,
    dir,
    env: Deno.env.toObject(),
    ...(dotenv ? { dotenv } : {}),
    ...(options.orchestrator ? { orchestrator: options.orchestrator } : {}),
  });
}

async function readFile(shown: string, path: string): Promise<string> {
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) throw new ConfigError([issue(shown, "is a folder, not a pipeline file")]);
    if (info.size > MAX_PIPELINE_BYTES) {
      throw new ConfigError([
        issue(
          shown,
          `file is ${info.size} bytes; pipeline files are limited to ${MAX_PIPELINE_BYTES} bytes`,
        ),
      ]);
    }
    return new TextDecoder("utf-8", { fatal: true }).decode(await Deno.readFile(path));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    if (error instanceof TypeError) {
      throw new ConfigError([issue(shown, "file is not UTF-8 text")], { cause: error });
    }
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : (error as Error).message;
    throw new ConfigError([issue(shown, `cannot read pipeline file: ${reason}`)], { cause: error });
  }
}

async function readStdin(): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of Deno.stdin.readable) {
    size += chunk.length;
    if (size > MAX_PIPELINE_BYTES) {
      throw new ConfigError([
        issue(
          "-",
          `input is larger than ${MAX_PIPELINE_BYTES} bytes; pipeline files are limited to that`,
        ),
      ]);
    }
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw new ConfigError([issue("-", "input is not UTF-8 text")], { cause: error });
  }
}

async function readDotenv(
  shown: string,
  path: string,
): Promise<Record<string, string> | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new ConfigError([issue(path, `cannot read .env: ${(error as Error).message}`)], {
      cause: error,
    });
  }
  try {
    return parseDotenv(text);
  } catch (error) {
    throw new ConfigError([
      issue(path, `invalid .env beside ${shown}: ${(error as Error).message}`),
    ], { cause: error });
  }
}

function issue(file: string, message: string) {
  return { file, line: 0, column: 0, path: "", message };
}
