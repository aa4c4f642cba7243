/** The processes of one run: spawned on request, each component's env computed once. */
import type { Component, Pipeline } from "../../config/mod.ts";
import { LiveHandles } from "../_handle.ts";
import type { RunEnvs } from "../run_envs.ts";
import { ReplicaSetHandle } from "../_replica_set.ts";
import {
  ComponentFailedError,
  type ComponentHandle,
  type OrchestratorRun,
} from "../orchestrator.ts";
import { findExecutable } from "./executable.ts";
import { spawnBeside } from "./process_exec.ts";
import { ProcessHandle } from "./process_handle.ts";
import { ProcessScanner } from "./process_scanner.ts";

/** The processes of one run. */
export class ProcessRun implements OrchestratorRun {
  readonly controlPlaneHosts = ["127.0.0.1"];
  readonly #components: ReadonlyMap<string, Component>;
  readonly envs: RunEnvs;
  readonly #argvs: ReadonlyMap<string, readonly string[]>;
  readonly #live = new LiveHandles<ProcessHandle>();
  readonly #runId: string;
  readonly #scanner: ProcessScanner;
  /** Starts of each component so far: FLOWCTL_ATTEMPT of the next one. */
  readonly #attempts = new Map<string, number>();

  constructor(
    pipeline: Pipeline,
    runId: string,
    envs: RunEnvs,
    argvs: ReadonlyMap<string, readonly string[]>,
  ) {
    this.#components = new Map(pipeline.components.map((c) => [c.id, c]));
    this.envs = envs;
    this.#argvs = argvs;
    this.#runId = runId;
    this.#scanner = new ProcessScanner(`${runId}:`);
  }

  async start(componentId: string): Promise<ComponentHandle> {
    const component = this.#components.get(componentId);
    const attempt = (this.#attempts.get(componentId) ?? 0) + 1;
    this.#attempts.set(componentId, attempt);
    const base = this.envs.of(componentId);
    // The Go flowctl's attempt counter: 1 at the first start, one more at each restart.
    const env = base &&
      { ...base, FLOWCTL_ATTEMPT: component?.env.FLOWCTL_ATTEMPT ?? String(attempt) };
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
    env: Readonly<Record<string, string>>,
  ): Promise<ProcessHandle> {
    const [program = "", ...args] = argv;
    const found = findExecutable(program, component.workingDir, env.PATH ?? "");
    const executable = found ?? program;
    // A found program starts through setsid (same pid, after setsid() it execs the program): a
    // detached spawn forks all of flowctl, about 5 ms a component against 1 ms. Where there is
    // no setsid, or the program is not found (the spawn error below names it), Deno detaches it.
    const setsid = found === undefined ? undefined : setsidProgram();
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(setsid ?? executable, {
        args: setsid ? [executable, ...args] : args,
        cwd: component.workingDir,
        env,
        clearEnv: true,
        detached: setsid === undefined,
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

  /** Runs `command` (not through a shell) with the handle's component's env and working dir. */
  async exec(
    handle: ComponentHandle,
    command: readonly string[],
    { signal }: { signal: AbortSignal },
  ): Promise<number> {
    const component = this.#components.get(handle.componentId);
    const env = this.envs.of(handle.componentId);
    if (!component || !env) {
      throw new RangeError(`no component "${handle.componentId}" in this run`);
    }
    const target = { workingDir: component.workingDir, env };
    return (await spawnBeside(target, command, { interactive: false, signal }).status).code;
  }
}

/** The mark of a component's processes: `<run id>:<component id>`. */
export function processMark(runId: string, componentId: string): string {
  return `${runId}:${componentId}`;
}

let setsidPath: string | null | undefined;

/**
 * setsid(1) of util-linux or busybox, when this machine has one. It forks only when the caller
 * leads a process group, which a child of flowctl never does, so the component keeps its pid.
 */
function setsidProgram(): string | undefined {
  setsidPath ??= findExecutable("setsid", "/", "/usr/bin:/bin") ?? null;
  return setsidPath ?? undefined;
}
