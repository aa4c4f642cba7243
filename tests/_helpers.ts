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
  /** A command prefix that execs what follows, e.g. `["nsenter", "--net=/run/netns/x"]`. */
  wrapper?: string[];
  stdin?: string;
  env?: Record<string, string>;
  cwd?: string;
}

/** Runs `flowctl <args>` to completion. */
export async function runFlowctl(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const [program, ...argv] = flowctlCommand(args, options.wrapper);
  const child = new Deno.Command(program ?? "", {
    args: argv,
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

/** The command line of `flowctl <args>`, under `wrapper` when given. */
function flowctlCommand(args: string[], wrapper: string[] = []): string[] {
  return [...wrapper, Deno.execPath(), "run", "-A", "--quiet", MAIN, ...args];
}

/** Writes `text` to a new temporary folder as `name` and returns the file's path. */
/** `flowctl run <file>` with its logs in `logDir`, the control plane on a free port, and `extra`. */
export function runArgs(file: string, logDir: string, ...extra: string[]): string[] {
  return ["run", file, "--log-dir", logDir, "--control-plane-port", "0", ...extra];
}

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

/** A flowctl process running in the background, with its output collected line by line. */
export class FlowctlProcess {
  readonly child: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  readonly #done: Promise<[void, void]>;

  constructor(args: string[], options: RunOptions = {}) {
    const [program, ...argv] = flowctlCommand(args, options.wrapper);
    this.child = new Deno.Command(program ?? "", {
      args: argv,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...options.env },
      ...(options.cwd ? { cwd: options.cwd } : {}),
    }).spawn();
    this.#done = Promise.all([
      collect(this.child.stdout, (text) => (this.stdout += text)),
      collect(this.child.stderr, (text) => (this.stderr += text)),
    ]);
  }

  /** Waits until stdout has a line containing `text`. */
  async waitForOutput(text: string, timeoutMs = 20_000): Promise<void> {
    await waitFor(
      () => this.stdout.includes(text),
      `"${text}" in flowctl output:\n${this.stdout}\n${this.stderr}`,
      timeoutMs,
    );
  }

  /** Sends `signal` unless flowctl has already exited. */
  kill(signal: Deno.Signal = "SIGINT"): void {
    try {
      this.child.kill(signal);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
    }
  }

  /** Waits for flowctl to exit and returns its result. */
  async result(): Promise<RunResult> {
    const status = await this.child.status;
    await this.#done;
    return { code: status.code, stdout: this.stdout, stderr: this.stderr };
  }
}

async function collect(
  stream: ReadableStream<Uint8Array>,
  add: (text: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) add(decoder.decode(chunk, { stream: true }));
}

/** A TCP port that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Live (non-zombie) processes whose command line contains `token`. */
export function processesWith(token: string): number[] {
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid) || pid === Deno.pid) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (cmdline.includes(token) && state !== "Z") found.push(pid);
    } catch {
      // gone while we looked
    }
  }
  return found;
}

/** Whether process `pid` is alive (and not a zombie). */
export function isAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Reads the fixture events file: `[component, kind, value]` rows. */
export function readEvents(path: string): [string, string, number][] {
  let text = "";
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return [];
  }
  return text.trim().split("\n").filter(Boolean).map((line) => {
    const [id = "", kind = "", value = "0"] = line.split(" ");
    return [id, kind, Number(value)];
  });
}

export const FIXTURE_COMMAND = `[${JSON.stringify(Deno.execPath())}, run, -A, --quiet, ${
  JSON.stringify(`${ROOT}tests/fixtures/component.ts`)
}]`;

/** A pipeline file header for tests. */
export function pipelineYaml(name: string, body: string): string {
  return `apiVersion: flowctl/v1\nkind: Pipeline\nmetadata:\n  name: ${name}\nspec:\n${body}`;
}
