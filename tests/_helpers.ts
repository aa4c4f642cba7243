/** Shared test helpers: run flowctl as a subprocess, wait for conditions, inspect processes. */
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const MAIN = `${ROOT}main.ts`;
export const FIXTURES = `${ROOT}tests/fixtures`;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  stdin?: string;
  env?: Record<string, string>;
  cwd?: string;
}

/** Runs `flowctl <args>` to completion. */
export async function runFlowctl(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, ...args],
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
    ...(options.cwd ? { cwd: options.cwd } : {}),
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  return {
    code,
    stdout: new TextDecoder().decode(stdout),
    stderr: new TextDecoder().decode(stderr),
  };
}

/** Writes `text` to a new temporary folder as `name` and returns the file's path. */
export async function writeTemp(name: string, text: string, dir?: string): Promise<string> {
  const folder = dir ?? await Deno.makeTempDir({ prefix: "flowctl-test-" });
  const path = `${folder}/${name}`;
  await Deno.writeTextFile(path, text);
  return path;
}

/** Polls `condition` every 10 ms until it is true or `timeoutMs` passes. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
