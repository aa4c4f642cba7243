/**
 * The process orchestrator: each component is a child process spawned `detached` in its own
 * session and process group, so that stopping the group stops `npm start`'s children too.
 */
import { delimiter, isAbsolute, join, resolve } from "node:path";
import type { Component, Pipeline } from "../config/mod.ts";
import { delay } from "../delay.ts";
import { LiveHandles, StoppableHandle } from "./_handle.ts";
import { busyHostPorts } from "./host_ports.ts";
import {
  ComponentFailedError,
  type ComponentHandle,
  type ExitStatus,
  type OpenOptions,
  type Orchestrator,
  type OrchestratorRun,
  PreflightError,
  type StopOptions,
} from "./orchestrator.ts";
import { groupMembers, readProcStat, signalGroup } from "./process_group.ts";

/** How long to wait for a killed group to disappear before reporting it. */
const GROUP_EXIT_TIMEOUT_MS = 5_000;

export class ProcessOrchestrator implements Orchestrator {
  readonly kind = "process" as const;

  check(pipeline: Pipeline): Promise<void> {
    const problems: string[] = [];
    for (const component of pipeline.components) {
      const dirProblem = checkDirectory(component.workingDir);
      if (dirProblem) {
        problems.push(`component "${component.id}": working_dir ${dirProblem}`);
        continue;
      }
      const program = component.argv[0] ?? "";
      if (!findExecutable(program, component.workingDir, pathOf(component))) {
        problems.push(
          `component "${component.id}": command "${program}" not found${
            program.includes("/") ? ` (in ${component.workingDir})` : " on PATH"
          }`,
        );
      }
    }
    problems.push(...busyHostPorts(pipeline));
    return problems.length > 0 ? Promise.reject(new PreflightError(problems)) : Promise.resolve();
  }

  open(pipeline: Pipeline, options: OpenOptions): Promise<OrchestratorRun> {
    const endpoint = `127.0.0.1:${options.controlPlane.port}`;
    const envs = new Map(
      pipeline.components.map((c) => [c.id, options.envFor(c, endpoint)] as const),
    );
    return Promise.resolve(new ProcessRun(pipeline, envs));
  }
}

/** The processes of one run. */
class ProcessRun implements OrchestratorRun {
  readonly controlPlaneHosts = ["127.0.0.1"];
  readonly #components: ReadonlyMap<string, Component>;
  readonly #envs: ReadonlyMap<string, Record<string, string>>;
  readonly #live = new LiveHandles<ProcessHandle>();

  constructor(pipeline: Pipeline, envs: ReadonlyMap<string, Record<string, string>>) {
    this.#components = new Map(pipeline.components.map((c) => [c.id, c]));
    this.#envs = envs;
  }

  start(componentId: string): Promise<ComponentHandle> {
    const component = this.#components.get(componentId);
    const env = this.#envs.get(componentId);
    if (!component || !env) throw new RangeError(`no component "${componentId}" in this run`);
    const [program = "", ...args] = component.argv;
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
    return Promise.resolve(this.#live.add(new ProcessHandle(component.id, child)));
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

class ProcessHandle extends StoppableHandle implements ComponentHandle {
  readonly componentId: string;
  readonly pid: number;
  readonly pidStartTime: number | undefined;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly exited: Promise<ExitStatus>;

  constructor(componentId: string, child: Deno.ChildProcess) {
    super();
    this.componentId = componentId;
    this.pid = child.pid;
    this.pidStartTime = readProcStat(child.pid)?.startTime;
    this.stdout = child.stdout;
    this.stderr = child.stderr;
    // The leader's exit is not the end: stragglers it left in its group are killed and awaited.
    this.exited = child.status.then(async (status) => {
      signalGroup(this.pid, "SIGKILL");
      await waitForGroupExit(this.pid, GROUP_EXIT_TIMEOUT_MS);
      return { code: status.code, signal: status.signal ?? null };
    });
  }

  probeAddress(port: number) {
    return { hostname: "127.0.0.1", port };
  }

  protected async stopOnce({ graceMs, force }: StopOptions): Promise<ExitStatus> {
    signalGroup(this.pid, graceMs > 0 && !force?.aborted ? "SIGTERM" : "SIGKILL");
    if (graceMs > 0) {
      const graceOver = AbortSignal.any([AbortSignal.timeout(graceMs), ...(force ? [force] : [])]);
      const exitedInTime = await Promise.race([
        this.exited.then(() => true),
        delay(graceMs, graceOver).then(() => false),
      ]);
      if (!exitedInTime) signalGroup(this.pid, "SIGKILL");
    }
    return await this.exited;
  }
}

/** Waits until no live process is left in group `pgid`, polling /proc. */
async function waitForGroupExit(pgid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pause = 1;
  while (groupMembers(pgid).length > 0) {
    if (Date.now() > deadline) return;
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
