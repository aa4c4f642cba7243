/**
 * A command run beside a process component: with its environment and working dir, not through
 * a shell. Exec probes discard its output; `flowctl exec` hands it the terminal.
 */
import { findExecutable } from "./executable.ts";

/** What a command beside a component runs with. */
export interface BesideTarget {
  workingDir: string;
  env: Readonly<Record<string, string>>;
}

/** The program of a command resolved as the shell would, beside the component, if found. */
export function programBeside(target: BesideTarget, program: string): string | undefined {
  return findExecutable(program, target.workingDir, target.env.PATH ?? "");
}

/**
 * Spawns `command` beside the component: its program as programBeside finds it, else as given
 * (the spawn then fails with NotFound). `interactive`: flowctl's own stdin, stdout and stderr;
 * otherwise none.
 */
export function spawnBeside(
  target: BesideTarget,
  command: readonly string[],
  options: { interactive: boolean; signal?: AbortSignal },
): Deno.ChildProcess {
  const [program = "", ...args] = command;
  const stdio = options.interactive ? "inherit" : "null";
  return new Deno.Command(programBeside(target, program) ?? program, {
    args,
    cwd: target.workingDir,
    env: { ...target.env },
    clearEnv: true,
    stdin: stdio,
    stdout: stdio,
    stderr: stdio,
    ...(options.signal ? { signal: options.signal } : {}),
  }).spawn();
}
