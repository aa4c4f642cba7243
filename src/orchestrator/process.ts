/**
 * The process orchestrator: each component is a child process spawned `detached` in its own
 * session and process group, so that stopping the group stops `npm start`'s children too.
 */
import { delimiter, isAbsolute, join, resolve } from "node:path";
import type { Component, Pipeline } from "../config/mod.ts";
import { delay } from "../delay.ts";
import {
  ComponentFailedError,
  type ComponentHandle,
  type ExitStatus,
  type Orchestrator,
  PreflightError,
  type StartOptions,
} from "./orchestrator.ts";
import { groupMembers, readProcStat, signalGroup } from "./process_group.ts";

/** How long to wait for a killed group to disappear before reporting it. */
const GROUP_EXIT_TIMEOUT_MS = 5_000;

export class ProcessOrchestrator implements Orchestrator {
  readonly kind = "process" as const;
  readonly controlPlaneHost = "127.0.0.1";
  readonly #handles = new Set<ProcessHandle>();

  controlPlaneListenHosts(): string[] {
    return ["127.0.0.1"];
  }

  async preflight(pipeline: Pipeline): Promise<void> {
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
    problems.push(...await busyHostPorts(pipeline));
    if (problems.length > 0) throw new PreflightError(problems);
  }

  start(component: Component, options: StartOptions): Promise<ComponentHandle> {
    const [program = "", ...args] = component.argv;
    const executable = findExecutable(program, component.workingDir, options.env.PATH ?? "") ??
      program;
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(executable, {
        args,
        cwd: component.workingDir,
        env: options.env,
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
    const handle = new ProcessHandle(component.id, child);
    this.#handles.add(handle);
    handle.exited.finally(() => this.#handles.delete(handle));
    return Promise.resolve(handle);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all([...this.#handles].map((handle) => handle.stop({ graceMs: 0 })));
  }
}

class ProcessHandle implements ComponentHandle {
  readonly componentId: string;
  readonly pid: number;
  readonly pidStartTime: number | undefined;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly exited: Promise<ExitStatus>;
  #stopping: Promise<ExitStatus> | undefined;

  constructor(componentId: string, child: Deno.ChildProcess) {
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

  stop(options: { graceMs: number; force?: AbortSignal }): Promise<ExitStatus> {
    this.#stopping ??= this.#stop(options);
    return this.#stopping;
  }

  async #stop({ graceMs, force }: { graceMs: number; force?: AbortSignal }): Promise<ExitStatus> {
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

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop({ graceMs: 0 });
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

/** Host ports (process mode: the ports components will listen on) that something already holds. */
async function busyHostPorts(pipeline: Pipeline): Promise<string[]> {
  const problems: string[] = [];
  for (const component of pipeline.components) {
    for (const port of component.ports) {
      const hostPort = port.hostPort ?? port.containerPort;
      const hostname = pipeline.orchestrator === "process" ? "127.0.0.1" : port.hostIp;
      if (!(await isPortFree(hostname, hostPort))) {
        problems.push(
          `component "${component.id}": port ${hostPort} on ${hostname} is already in use`,
        );
      }
    }
  }
  return problems;
}

/** Whether a TCP port can be bound on `hostname` right now. */
export function isPortFree(hostname: string, port: number): Promise<boolean> {
  try {
    const listener = Deno.listen({ hostname, port });
    listener.close();
    return Promise.resolve(true);
  } catch {
    return Promise.resolve(false);
  }
}
