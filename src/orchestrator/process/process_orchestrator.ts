/**
 * The process orchestrator: each component is a child process spawned `detached` in its own
 * session and process group, so that stopping the group stops `npm start`'s children too.
 * Descendants that left the group (`setsid daemon &`) are found by the mark every component
 * carries in its environment, and by holding the component's output pipes.
 */
import { getLogger } from "@logtape/logtape";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import {
  type Component,
  describeMismatch,
  eventTypeMismatches,
  type Pipeline,
} from "../../config/mod.ts";
import { delay } from "../../delay.ts";
import { LiveHandles, StoppableHandle } from "../_handle.ts";
import { ReplicaSetHandle } from "../_replica_set.ts";
import { missingPaths } from "../host_paths.ts";
import { busyHostPorts } from "../host_ports.ts";
import { suggestExecutable } from "./suggest_executable.ts";
import {
  type CheckOptions,
  ComponentFailedError,
  type ComponentHandle,
  type ExitStatus,
  type OpenOptions,
  type Orchestrator,
  type OrchestratorRun,
  PreflightError,
  type StopOptions,
} from "../orchestrator.ts";
import {
  groupMayBeAlive,
  groupMembers,
  isAlive,
  pipeOf,
  PROCESS_MARK_VAR,
  readProcStat,
  scanProcesses,
  signalGroup,
  signalProcess,
} from "../../proc/process_group.ts";
import type { ImageProgram } from "../../registry/component_image.ts";
import { UserError } from "../../user_error.ts";

const logger = getLogger(["flowctl", "process"]);

/** How long to wait for a killed group (or escaped descendants) to disappear. */
const GROUP_EXIT_TIMEOUT_MS = 5_000;
/** How long output may stay open after a component's processes are gone, before its holders are killed. */
const OUTPUT_EOF_MS = 300;
/** How long to wait for end of output after that, before flowctl stops reading it. */
const OUTPUT_CUT_MS = 1_000;

/**
 * Runs components as local processes, each in its own session and process group: `check()`
 * finds every missing command, folder and busy port; `open()` computes each environment once.
 */
export class ProcessOrchestrator implements Orchestrator {
  readonly kind = "process" as const;

  async check(pipeline: Pipeline, { hostPorts = true }: CheckOptions): Promise<void> {
    const problems: string[] = [];
    for (const component of pipeline.components) {
      const dirProblem = checkDirectory(component.workingDir);
      if (dirProblem) {
        problems.push(`component "${component.id}": working_dir ${dirProblem}`);
        continue;
      }
      if (component.fromImage) {
        const problem = await checkImageProgram(component);
        if (problem) problems.push(problem);
        continue;
      }
      const program = component.argv[0] ?? "";
      if (!findExecutable(program, component.workingDir, pathOf(component))) {
        problems.push(
          `component "${component.id}": command "${program}" not found${
            program.includes("/")
              ? ` (in ${component.workingDir})`
              : ` on PATH${suggestExecutable(program, pathOf(component))}`
          }`,
        );
      }
    }
    problems.push(...(hostPorts ? busyHostPorts(pipeline) : []), ...missingPaths(pipeline));
    if (problems.length > 0) throw new PreflightError(problems);
  }

  async open(pipeline: Pipeline, options: OpenOptions): Promise<OrchestratorRun> {
    const endpoint = `127.0.0.1:${options.controlPlane.port}`;
    const programs = await resolveImagePrograms(pipeline, options);
    checkMetadataEventTypes(pipeline, programs, options);
    const envs = new Map(
      pipeline.components.map((c) =>
        [c.id, {
          ...options.envFor(c, endpoint, programs.get(c.id)?.metadata),
          // The mark goes last, so a component's own env cannot remove it.
          [PROCESS_MARK_VAR]: processMark(options.runId, c.id),
        }] as const
      ),
    );
    const argvs = new Map(
      pipeline.components.map((c) => {
        const executable = programs.get(c.id)?.executable;
        return [c.id, executable ? [executable, ...c.argv] : c.argv] as const;
      }),
    );
    return new ProcessRun(pipeline, options.runId, envs, argvs);
  }
}

/**
 * Checks, from the cache only, a component that runs an executable of an image: a cached image
 * must hold it; an image not cached yet is pulled by open(), unless `pull_policy: never`.
 */
async function checkImageProgram(component: Component): Promise<string | undefined> {
  const target = component.fromImage;
  if (!target) return undefined;
  const { cachedImageProgram } = await import("../../registry/component_image.ts");
  try {
    const cached = await cachedImageProgram(target);
    if (!cached && component.pullPolicy === "never") {
      return `component "${component.id}": image "${target.reference}" is not in flowctl's cache and pull_policy is "never" (run "flowctl pull")`;
    }
    return undefined;
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return `component "${component.id}": ${error.message}`;
  }
}

/**
 * Event types that never meet once the metadata of registry components is known (what the file
 * alone shows was checked at load): a warning, or with `--strict` a refusal.
 */
function checkMetadataEventTypes(
  pipeline: Pipeline,
  programs: ReadonlyMap<string, ImageProgram>,
  options: OpenOptions,
): void {
  if (programs.size === 0) return;
  const fromFile = new Set(
    eventTypeMismatches(pipeline.components).map((m) => `${m.component}<${m.input}`),
  );
  const withMetadata = eventTypeMismatches(pipeline.components, (c) => {
    const metadata = programs.get(c.id)?.metadata;
    return {
      accepts: c.inputEventTypes.length > 0 ? c.inputEventTypes : metadata?.consumes ?? [],
      produces: c.outputEventTypes.length > 0 ? c.outputEventTypes : metadata?.produces ?? [],
    };
  }).filter((m) => !fromFile.has(`${m.component}<${m.input}`));
  const problems = withMetadata.map((m) =>
    `component "${m.component}": ${describeMismatch(m)} (types from component metadata)`
  );
  if (problems.length === 0) return;
  if (options.strictEventTypes) throw new PreflightError(problems);
  for (const problem of problems) options.onNotice?.(`warning: ${problem}`);
}

/**
 * Pulls (or finds in the cache) the image of every component that runs an executable of one.
 * @throws {PreflightError} naming each component whose image could not be resolved.
 */
async function resolveImagePrograms(
  pipeline: Pipeline,
  options: OpenOptions,
): Promise<Map<string, ImageProgram>> {
  const programs = new Map<string, ImageProgram>();
  const wanted = pipeline.components.filter((c) => c.fromImage);
  if (wanted.length === 0) return programs;
  // Loaded only here: pipelines of commands do not pay for the registry client.
  const { resolveImageProgram } = await import("../../registry/component_image.ts");
  const problems: string[] = [];
  for (const component of wanted) {
    const target = component.fromImage;
    if (!target) continue;
    try {
      const program = await resolveImageProgram(target, {
        signal: options.signal,
        refresh: component.pullPolicy === "always",
        onProgress: (p) =>
          options.onPullProgress?.(
            component.id,
            `layer ${p.index}/${p.count} ${p.digest.slice(7, 19)} ${megabytes(p.received)}/${
              megabytes(p.size)
            } MB`,
          ),
      });
      if (!program.image.cached) {
        options.onNotice?.(
          `Pulled image "${target.reference}" (${program.image.digest}) for component ${component.id}`,
        );
      }
      programs.set(component.id, program);
    } catch (error) {
      if (options.signal.aborted || !(error instanceof UserError)) throw error;
      problems.push(`component "${component.id}": ${error.message}`);
    }
  }
  if (problems.length > 0) throw new PreflightError(problems);
  return programs;
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/** The processes of one run. */
class ProcessRun implements OrchestratorRun {
  readonly controlPlaneHosts = ["127.0.0.1"];
  readonly #components: ReadonlyMap<string, Component>;
  readonly #envs: ReadonlyMap<string, Record<string, string>>;
  readonly #argvs: ReadonlyMap<string, readonly string[]>;
  readonly #live = new LiveHandles<ProcessHandle>();
  readonly #runId: string;
  readonly #scanner: ProcessScanner;

  constructor(
    pipeline: Pipeline,
    runId: string,
    envs: ReadonlyMap<string, Record<string, string>>,
    argvs: ReadonlyMap<string, readonly string[]>,
  ) {
    this.#components = new Map(pipeline.components.map((c) => [c.id, c]));
    this.#envs = envs;
    this.#argvs = argvs;
    this.#runId = runId;
    this.#scanner = new ProcessScanner(`${runId}:`);
  }

  async start(componentId: string): Promise<ComponentHandle> {
    const component = this.#components.get(componentId);
    const env = this.#envs.get(componentId);
    const argv = this.#argvs.get(componentId);
    if (!component || !env || !argv) {
      throw new RangeError(`no component "${componentId}" in this run`);
    }
    if (component.replicas === 1) return await this.#spawn(component, argv, env);
    // Replicas 1..N, each told which it is; a failed spawn stops those already started.
    const started: ProcessHandle[] = [];
    try {
      for (let replica = 1; replica <= component.replicas; replica++) {
        started.push(
          await this.#spawn(component, argv, { ...env, FLOWCTL_REPLICA: String(replica) }),
        );
      }
    } catch (error) {
      await Promise.allSettled(started.map((handle) => handle.stop({ graceMs: 0 })));
      throw error;
    }
    return new ReplicaSetHandle(started);
  }

  #spawn(
    component: Component,
    argv: readonly string[],
    env: Record<string, string>,
  ): Promise<ProcessHandle> {
    const [program = "", ...args] = argv;
    const executable = findExecutable(program, component.workingDir, env.PATH ?? "") ?? program;
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(executable, {
        args,
        cwd: component.workingDir,
        env,
        clearEnv: true,
        detached: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      const reason = error instanceof Deno.errors.NotFound
        ? `command "${program}" not found`
        : error instanceof Deno.errors.PermissionDenied
        ? `command "${program}" is not executable`
        : `cannot run "${program}": ${(error as Error).message}`;
      return Promise.reject(new ComponentFailedError(component.id, reason, { cause: error }));
    }
    const mark = processMark(this.#runId, component.id);
    return Promise.resolve(
      this.#live.add(new ProcessHandle(component.id, child, mark, this.#scanner)),
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const errors = await this.#live.killAll();
    if (errors.length > 0) throw new AggregateError(errors, "stopping the run's processes failed");
  }

  envOf(componentId: string): Readonly<Record<string, string>> | undefined {
    return this.#envs.get(componentId);
  }

  /** Runs `command` (not through a shell) with the handle's component's env and working dir. */
  async exec(
    handle: ComponentHandle,
    command: readonly string[],
    { signal }: { signal: AbortSignal },
  ): Promise<number> {
    const component = this.#components.get(handle.componentId);
    const env = this.#envs.get(handle.componentId);
    if (!component || !env) {
      throw new RangeError(`no component "${handle.componentId}" in this run`);
    }
    const [program = "", ...args] = command;
    const executable = findExecutable(program, component.workingDir, env.PATH ?? "") ?? program;
    const status = await new Deno.Command(executable, {
      args,
      cwd: component.workingDir,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
      signal,
    }).spawn().status;
    return status.code;
  }
}

/** The mark of a component's processes: `<run id>:<component id>`. */
export function processMark(runId: string, componentId: string): string {
  return `${runId}:${componentId}`;
}

/** A component's process group: exited once the leader, stragglers and escaped descendants are gone. */
class ProcessHandle extends StoppableHandle implements ComponentHandle {
  readonly componentId: string;
  readonly pid: number;
  readonly pidStartTime: number | undefined;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly exited: Promise<ExitStatus>;
  readonly #mark: string;
  readonly #scanner: ProcessScanner;
  readonly #outputs: CuttableStream[];
  /** The child's stdout and stderr pipes, to find who else holds them. */
  readonly #pipes: Set<string>;

  constructor(
    componentId: string,
    child: Deno.ChildProcess,
    mark: string,
    scanner: ProcessScanner,
  ) {
    super();
    this.componentId = componentId;
    this.pid = child.pid;
    this.pidStartTime = readProcStat(child.pid)?.startTime;
    this.#mark = mark;
    this.#scanner = scanner;
    this.#pipes = new Set(
      [pipeOf(child.pid, 1), pipeOf(child.pid, 2)].filter((p): p is string => p !== undefined),
    );
    this.#outputs = [new CuttableStream(child.stdout), new CuttableStream(child.stderr)];
    [this.stdout, this.stderr] = this.#outputs.map((output) => output.stream) as [
      ReadableStream<Uint8Array>,
      ReadableStream<Uint8Array>,
    ];
    // The leader's exit is not the end: stragglers it left in its group, descendants that
    // escaped the group, and whoever still holds its output are killed and awaited.
    scanner.leaders.add(this.pid);
    this.exited = child.status.then(async (status) => {
      scanner.leaders.delete(this.pid);
      signalGroup(this.pid, "SIGKILL");
      await Promise.all([
        waitForGroupExit(this.pid, GROUP_EXIT_TIMEOUT_MS),
        this.#killEscaped(),
      ]);
      await this.#endOutput();
      return { code: status.code, signal: status.signal ?? null };
    });
  }

  probeAddress(port: number) {
    return { hostname: "127.0.0.1", port };
  }

  protected async stopOnce({ graceMs, force }: StopOptions): Promise<ExitStatus> {
    const first = graceMs > 0 && !force?.aborted ? "SIGTERM" : "SIGKILL";
    signalGroup(this.pid, first);
    // Escaped descendants get the same signal; they are killed for good once the leader is gone.
    void this.#scanner.marked(this.#mark).then((pids) => {
      for (const pid of pids) signalProcess(pid, first);
    });
    if (graceMs > 0) {
      const graceOver = AbortSignal.any([AbortSignal.timeout(graceMs), ...(force ? [force] : [])]);
      const exitedInTime = await Promise.race([
        this.exited.then(() => true),
        delay(graceMs, { signal: graceOver }).then(() => false),
      ]);
      if (!exitedInTime) signalGroup(this.pid, "SIGKILL");
    }
    return await this.exited;
  }

  /** Kills the processes that carry this component's mark but left its group, and awaits them. */
  async #killEscaped(): Promise<void> {
    let pids = await this.#scanner.marked(this.#mark);
    const deadline = Date.now() + GROUP_EXIT_TIMEOUT_MS;
    while (pids.length > 0 && Date.now() < deadline) {
      for (const pid of pids) signalProcess(pid, "SIGKILL");
      await delay(5);
      pids = pids.filter(isAlive);
    }
  }

  /**
   * Waits for the end of output, which is bounded: a process that holds the output pipes
   * without the mark (it cleared its environment) is found through the pipes and killed, and
   * if the output still does not end, flowctl stops reading it.
   */
  async #endOutput(): Promise<void> {
    const ended = Promise.all(this.#outputs.map((output) => output.ended));
    if (await settlesWithin(ended, OUTPUT_EOF_MS)) return;
    const holders = await this.#scanner.pipeHolders(this.#pipes);
    for (const pid of holders) signalProcess(pid, "SIGKILL");
    if (await settlesWithin(ended, OUTPUT_CUT_MS)) return;
    logger.warn(
      "Output of {component} is still held open after it stopped (by pids {holders}); no longer reading it",
      { component: this.componentId, holders: holders.filter(isAlive).join(", ") },
    );
    for (const output of this.#outputs) output.cut();
  }
}

/** A child's output that flowctl can stop reading although a writer still holds it open. */
class CuttableStream {
  readonly stream: ReadableStream<Uint8Array>;
  /** Settles once the output ended, failed, or was cut. */
  readonly ended: Promise<void>;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(source: ReadableStream<Uint8Array>) {
    const ended = Promise.withResolvers<void>();
    this.ended = ended.promise;
    const reader = source.getReader();
    this.#reader = reader;
    this.stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (!done) return controller.enqueue(value);
          controller.close();
        } catch (error) {
          controller.error(error);
        }
        ended.resolve();
      },
      async cancel(reason) {
        ended.resolve();
        await reader.cancel(reason);
      },
    });
  }

  /** Stops reading: a pending read ends as end of output. */
  cut(): void {
    this.#reader.cancel().catch(() => {});
  }
}

/**
 * Walks /proc for processes by mark or by output pipe, for every component at once: requests
 * made while a walk is pending share the next one, so stopping n components costs a few
 * walks, not n.
 */
class ProcessScanner {
  /**
   * Leaders of the components that are running: never escaped, and left out of walks, which
   * keeps a walk's cost to the other processes on the machine instead of growing with n.
   */
  readonly leaders = new Set<number>();
  readonly #markPrefix: string;
  /** When the last walk ended and how long it took: walks take at most half of the time. */
  #lastEnd = 0;
  #lastCost = 0;
  #marks = new Map<string, PromiseWithResolvers<number[]>[]>();
  #pipes = new Map<string, PromiseWithResolvers<number[]>[]>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(markPrefix: string) {
    this.#markPrefix = markPrefix;
  }

  /** Live processes carrying `mark`. */
  marked(mark: string): Promise<number[]> {
    return this.#request(this.#marks, mark);
  }

  /** Live processes other than flowctl holding any of `pipes`. */
  async pipeHolders(pipes: ReadonlySet<string>): Promise<number[]> {
    const found = await Promise.all([...pipes].map((pipe) => this.#request(this.#pipes, pipe)));
    return [...new Set(found.flat())];
  }

  #request(queue: Map<string, PromiseWithResolvers<number[]>[]>, key: string): Promise<number[]> {
    const request = Promise.withResolvers<number[]>();
    const waiting = queue.get(key);
    if (waiting) waiting.push(request);
    else queue.set(key, [request]);
    this.#timer ??= setTimeout(
      () => this.#scan(),
      Math.max(0, this.#lastEnd + this.#lastCost - performance.now()),
    );
    return request.promise;
  }

  #scan(): void {
    this.#timer = undefined;
    const marks = this.#marks;
    const pipes = this.#pipes;
    this.#marks = new Map();
    this.#pipes = new Map();
    const began = performance.now();
    const scan = scanProcesses(
      marks.size > 0 ? this.#markPrefix : undefined,
      new Set(pipes.keys()),
      { skip: this.leaders },
    );
    this.#lastEnd = performance.now();
    this.#lastCost = this.#lastEnd - began;
    for (const [mark, requests] of marks) {
      for (const request of requests) request.resolve(scan.marked.get(mark) ?? []);
    }
    for (const [pipe, requests] of pipes) {
      for (const request of requests) request.resolve(scan.pipeHolders.get(pipe) ?? []);
    }
  }
}

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      promise.then(() => true, () => true),
      delay(ms, { signal: timer.signal }).then(() => false),
    ]);
  } finally {
    timer.abort();
  }
}

/**
 * Waits until no live process is left in group `pgid`. A signal tells in O(1) when the group is
 * gone; /proc is only walked when the group lingers (zombies that no one reaped yet).
 */
async function waitForGroupExit(pgid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pause = 1;
  while (groupMayBeAlive(pgid)) {
    if (Date.now() > deadline) return;
    if (pause >= 16 && groupMembers(pgid).length === 0) return;
    signalGroup(pgid, "SIGKILL");
    await delay(pause);
    pause = Math.min(pause * 2, 20);
  }
}

function pathOf(component: Component): string {
  return component.env.PATH ?? Deno.env.get("PATH") ?? "";
}

/** Resolves a program like the shell would: paths against `cwd`, bare names on PATH. */
export function findExecutable(program: string, cwd: string, path: string): string | undefined {
  if (program === "") return undefined;
  if (program.includes("/")) {
    const full = isAbsolute(program) ? program : resolve(cwd, program);
    return isExecutable(full) ? full : undefined;
  }
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const full = join(isAbsolute(dir) ? dir : resolve(cwd, dir), program);
    if (isExecutable(full)) return full;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

function checkDirectory(dir: string): string | undefined {
  try {
    return Deno.statSync(dir).isDirectory ? undefined : `"${dir}" is not a folder`;
  } catch {
    return `"${dir}" does not exist`;
  }
}
