/**
 * `flowctl exec`: runs a command beside a running component (process mode: its env and working
 * dir, asked of the running flowctl over the admin socket) or inside its container (Engine exec,
 * with a TTY when stdin is one). The command's exit code is flowctl's.
 */
import { requestExecContext } from "../admin/admin_client.ts";
import type { ExecContext } from "../admin/protocol.ts";
import { findExecutable } from "../orchestrator/process/process_orchestrator.ts";
import { UserError } from "../user_error.ts";
import { checkComponentNames, parseCommandArgs } from "./_args.ts";
import { findPipeline } from "./_target.ts";
import type { CommandModule } from "./command.ts";
import { writeAll } from "./output.ts";
import { UsageError } from "./usage_error.ts";

/** The shell's exit code for a command that was not found. */
const NOT_FOUND = 127;
/** The shell's exit code for a command that was found but could not be run. */
const CANNOT_RUN = 126;
const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGTERM: 15,
};

export const execCommand: CommandModule = {
  help: `Usage: flowctl exec [name|file] <id> -- <command> [args...]

Runs a command beside a component of the running pipeline and passes its exit code through.
The pipeline is named by its name or its file, or is the only one running.
Process mode: the command runs on this host with the component's environment and working dir
(asked of the running flowctl over its admin socket; never written to disk). Container mode:
the command runs inside the component's container (Docker Engine exec), with a TTY when stdin
is a terminal. The command is not run through a shell.

Exit codes: the command's; 127 the command was not found, 126 it could not be run (both
modes); 1 the pipeline or component is not running; 2 usage or configuration error (an unknown
component).`,
  async run(args) {
    const split = args.indexOf("--");
    const own = split >= 0 ? args.slice(0, split) : args.slice(0, 2);
    const { positionals } = parseCommandArgs("exec", own, {});
    const command = split >= 0 ? args.slice(split + 1) : args.slice(2);
    const usage =
      `usage: flowctl exec [name|file] <id> -- <command> [args...] (see "flowctl exec --help")`;
    if (positionals.length === 0 || command.length === 0) {
      throw new UsageError(
        positionals.length === 0 ? "missing component id" : "missing command",
        usage,
      );
    }
    // One word before "--" is the component of the only running pipeline.
    const target = await findPipeline("exec", positionals.length === 1 ? [] : positionals);
    const [id = positionals[0] ?? "", ...extra] = positionals.length === 1
      ? positionals
      : target.rest;
    if (extra.length > 0) {
      throw new UsageError(`unexpected argument "${extra[0]}" before "--"`, usage);
    }
    if (target.state) {
      checkComponentNames([id], target.state.components.map((c) => c.id), target.name);
    }
    const context = await requestExecContext(target.name, id);
    return context.orchestrator === "container"
      ? await execInContainerOf(context, command)
      : await execBeside(context, command);
  },
};

async function execBeside(context: ExecContext, command: string[]): Promise<number> {
  const [program = "", ...args] = command;
  const executable = findExecutable(program, context.workingDir, context.env.PATH ?? "");
  if (!executable) {
    writeAll(
      Deno.stderr,
      new TextEncoder().encode(`flowctl: command "${program}" not found\n`),
    );
    return NOT_FOUND;
  }
  const status = await new Deno.Command(executable, {
    args,
    cwd: context.workingDir,
    env: context.env,
    clearEnv: true,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  return status.signal ? 128 + (SIGNAL_NUMBERS[status.signal] ?? 0) : status.code;
}

async function execInContainerOf(context: ExecContext, command: string[]): Promise<number> {
  if (context.containerId === undefined) {
    throw new UserError(`Component "${context.component}" has no running container`);
  }
  const { DockerClient } = await import("../docker/docker_client.ts");
  const { execInContainer } = await import("../orchestrator/container_exec.ts");
  using docker = await DockerClient.connect();
  const tty = Deno.stdin.isTerminal();
  if (tty) Deno.stdin.setRaw(true);
  const stdout = new RuntimeFailure((bytes) => writeAll(Deno.stdout, bytes));
  try {
    const code = await execInContainer(docker, context.containerId, command, {
      tty,
      stdin: Deno.stdin.readable,
      onStdout: (bytes) => stdout.write(bytes),
      onStderr: (bytes) => writeAll(Deno.stderr, bytes),
      ...(tty ? { consoleSize: consoleSize() } : {}),
    });
    const failure = stdout.end();
    if (failure === undefined) return code;
    // The runtime could not start the command: say so as process mode does, not in its words.
    const program = command[0] ?? "";
    const notFound = /not found|no such file/i.test(failure);
    writeAll(
      Deno.stderr,
      new TextEncoder().encode(
        notFound
          ? `flowctl: command "${program}" not found\n`
          : `flowctl: cannot run "${program}": ${failure.replace(/^.*exec: "[^"]*": /, "")}\n`,
      ),
    );
    return notFound ? NOT_FOUND : CANNOT_RUN;
  } finally {
    if (tty) Deno.stdin.setRaw(false);
  }
}

/**
 * Passes the command's stdout through, except the container runtime's own message when the
 * command could not start (`OCI runtime exec failed: …`, the first and only output then).
 */
class RuntimeFailure {
  static readonly #PREFIX = "OCI runtime exec failed";
  readonly #write: (bytes: Uint8Array) => void;
  #held: Uint8Array[] | undefined = [];

  constructor(write: (bytes: Uint8Array) => void) {
    this.#write = write;
  }

  write(bytes: Uint8Array): void {
    if (!this.#held) return this.#write(bytes);
    this.#held.push(bytes);
    const text = this.#text();
    if (text.length >= RuntimeFailure.#PREFIX.length && !text.startsWith(RuntimeFailure.#PREFIX)) {
      this.#flush();
    }
  }

  /** The runtime's message, if the output was one; else what was held is written. */
  end(): string | undefined {
    if (!this.#held) return undefined;
    const text = this.#text();
    if (text.startsWith(RuntimeFailure.#PREFIX)) return text.trim().replace(/: unknown$/, "");
    this.#flush();
    return undefined;
  }

  #text(): string {
    return new TextDecoder().decode(concat(this.#held ?? []));
  }

  #flush(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const chunk of held) this.#write(chunk);
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
}

function consoleSize(): [number, number] {
  try {
    const { rows, columns } = Deno.consoleSize();
    return [rows, columns];
  } catch {
    return [24, 80];
  }
}
