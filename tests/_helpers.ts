/** Shared test helpers: run flowctl as a subprocess, wait for conditions, inspect processes. */
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";

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

/** Writes `text` as `name` in `dir` (else in a new temporary folder) and returns the file's path. */
export async function writeTemp(name: string, text: string, dir?: string): Promise<string> {
  const folder = dir ?? await Deno.makeTempDir({ prefix: "flowctl-test-" });
  const path = `${folder}/${name}`;
  await Deno.writeTextFile(path, text);
  return path;
}

/** A temporary folder that `await using` removes, with everything in it. */
export interface TempDir extends AsyncDisposable {
  readonly path: string;
}

/** Creates a temporary folder, removed when the returned value is disposed. */
export async function tempDir(prefix = "flowctl-test-"): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    },
  };
}

/**
 * Polls `condition` every 10 ms until it is true or `timeoutMs` passes. `what` may be a function,
 * so the message shows the state at the timeout (output collected meanwhile), not at the start.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      const described = typeof what === "string" ? what : what();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${described}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** How disposal stops a flowctl that still runs: a signal, then how long to wait for the exit. */
const STOP_SEQUENCE: [Deno.Signal, number][] = [
  ["SIGTERM", 15_000], // a graceful stop: components get their grace periods
  ["SIGTERM", 10_000], // a second signal: flowctl stops them without grace periods
  ["SIGKILL", 10_000],
];

/**
 * A flowctl process running in the background, with its output collected as it comes.
 * `await using` stops it: SIGTERM, then (if still running after 15 s) a second SIGTERM, which
 * makes flowctl stop its components without grace periods, then SIGKILL; and awaits its output.
 */
export class FlowctlProcess implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  readonly #done: Promise<[void, void]>;
  #exited = false;

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
    this.child.status.then(() => this.#exited = true);
    this.#done = Promise.all([
      collect(this.child.stdout, (text) => (this.stdout += text)),
      collect(this.child.stderr, (text) => (this.stderr += text)),
    ]);
  }

  /** Waits until stdout has a line containing `text`. */
  async waitForOutput(text: string, timeoutMs = 20_000): Promise<void> {
    await waitFor(
      () => this.stdout.includes(text),
      () => `"${text}" in flowctl output:\n${this.stdout}\n${this.stderr}`,
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

  /** Stops flowctl if it still runs (see the class comment) and waits for its output to end. */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const [signal, waitMs] of STOP_SEQUENCE) {
      if (this.#exited) break;
      this.kill(signal);
      if (await this.#exitsWithin(waitMs)) break;
    }
    await this.result();
  }

  /** Whether flowctl exits within `ms`. */
  async #exitsWithin(ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
    try {
      return await Promise.race([this.child.status.then(() => true), timedOut]);
    } finally {
      clearTimeout(timer);
    }
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

/** The pids the fixtures recorded in the events file at `path`. */
export function recordedPids(path: string): number[] {
  return readEvents(path).filter(([, kind]) => kind === "pid").map(([, , pid]) => pid);
}

/** The command that runs tests/fixtures/component.ts, as an argv list. */
export const FIXTURE_ARGV: readonly string[] = [
  Deno.execPath(),
  "run",
  "-A",
  "--quiet",
  `${FIXTURES}/component.ts`,
];

/** FIXTURE_ARGV as a YAML flow sequence, for pipeline text written by hand. */
export const FIXTURE_COMMAND = `[${FIXTURE_ARGV.map((arg) => JSON.stringify(arg)).join(", ")}]`;

/** A pipeline file header for tests. */
export function pipelineYaml(name: string, body: string): string {
  return `apiVersion: flowctl/v1\nkind: Pipeline\nmetadata:\n  name: ${name}\nspec:\n${body}`;
}

/** `prefix` with a random suffix: a pipeline name no other run uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

/** A component of a test pipeline, with the keys of the pipeline file (`inputs`, `health`...). */
export type TestComponent = { id: string } & Record<string, unknown>;

/** The other keys of a test component besides its id, command or image, and env. */
export type ComponentExtra = Record<string, unknown>;

type EnvValues = Record<string, string | number>;

function envText(env: EnvValues): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value)]));
}

/**
 * A component running tests/fixtures/component.ts, configured by `env` (see the fixture for
 * its variables: HEALTH_PORT, LINES, EXIT_AFTER_MS, EVENTS_FILE, ...).
 */
export function fixture(
  id: string,
  env: EnvValues = {},
  extra: ComponentExtra = {},
): TestComponent {
  return { id, command: [...FIXTURE_ARGV], env: envText(env), ...extra };
}

/** A container component of `image`, never pulled (tests build their images first). */
export function containerComponent(
  id: string,
  image: string,
  env: EnvValues = {},
  extra: ComponentExtra = {},
): TestComponent {
  return { id, image, pull_policy: "never", env: envText(env), ...extra };
}

/** What a test pipeline file holds. */
export interface TestPipelineSpec {
  /** `metadata.name`, as given (see `uniqueName`). */
  name: string;
  driver?: "process" | "container";
  sources?: TestComponent[];
  processors?: TestComponent[];
  sinks?: TestComponent[];
}

/** Paths in a test pipeline's folder that its components may need to know. */
export interface TestPipelinePaths {
  /** The pipeline's temporary folder. */
  dir: string;
  /** `<dir>/events.txt`, for the fixtures' EVENTS_FILE (see `readEvents`). */
  events: string;
}

/** A pipeline file in a temporary folder of its own, removed by `await using`. */
export interface TestPipeline extends TestPipelinePaths, AsyncDisposable {
  name: string;
  /** `<dir>/pipeline.yaml`. */
  file: string;
  /** `<dir>/logs`, the log folder of `args`. */
  logDir: string;
  /** FLOWCTL_STATE_DIR set to `<dir>/state`, for runs that must not share state files. */
  env: Record<string, string>;
  /** `flowctl run <file>` with `logDir` and the control plane on a free port. */
  args: string[];
}

/**
 * Writes a pipeline file to a new temporary folder. `spec` may be a function of the folder's
 * paths, for components that write into it.
 * @example
 * await using p = await testPipeline({ name: "demo", sources: [fixture("src", { LINES: 2 })] });
 * await using flowctl = new FlowctlProcess(p.args);
 */
export async function testPipeline(
  spec: TestPipelineSpec | ((paths: TestPipelinePaths) => TestPipelineSpec),
): Promise<TestPipeline> {
  const dir = await tempDir("flowctl-pipeline-");
  const paths = { dir: dir.path, events: `${dir.path}/events.txt` };
  const { name, driver, sources, processors, sinks } = typeof spec === "function"
    ? spec(paths)
    : spec;
  const document = {
    apiVersion: "flowctl/v1",
    kind: "Pipeline",
    metadata: { name },
    spec: {
      ...(driver ? { driver } : {}),
      ...(sources ? { sources } : {}),
      ...(processors ? { processors } : {}),
      ...(sinks ? { sinks } : {}),
    },
  };
  const file = await writeTemp("pipeline.yaml", stringify(document), dir.path);
  const logDir = `${dir.path}/logs`;
  return {
    ...paths,
    name,
    file,
    logDir,
    env: { FLOWCTL_STATE_DIR: `${dir.path}/state` },
    args: runArgs(file, logDir),
    [Symbol.asyncDispose]: () => dir[Symbol.asyncDispose](),
  };
}
