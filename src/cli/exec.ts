/**
 * `flowctl exec`: runs a command beside a running component (process mode: its env and working
 * dir, asked of the running flowctl over the admin socket) or inside its container (Engine exec,
 * with a TTY when stdin is one). The command's exit code is flowctl's.
 */
import { requestExecContext } from "../admin/admin_client.ts";
import { execInComponent } from "../orchestrator/exec.ts";
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
  help: `Usage: flowctl exec [name|file] <id> [--replica N] -- <command> [args...]

Runs a command beside a component of the running pipeline and passes its exit code through.
The pipeline is named by its name or its file, or is the only one running. With replicas,
--replica N picks the instance (default 1); the command sees FLOWCTL_REPLICA=N as it does.
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
    const { values, positionals } = parseCommandArgs("exec", own, {
      replica: { type: "string" },
    });
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
    const [id = "", ...extra] = positionals.length === 1 ? positionals : target.rest;
    if (extra.length > 0) {
      throw new UsageError(`unexpected argument "${extra[0]}" before "--"`, usage);
    }
    if (target.state) {
      checkComponentNames([id], target.state.components.map((c) => c.id), target.name);
    }
    const replica = replicaNumber(
      values.replica,
      target.state?.components.find((c) => c.id === id),
    );
    const context = await requestExecContext(target.name, id, replica);
    const outcome = await execInComponent(context, command, {
      stdin: Deno.stdin.readable,
      isTerminal: () => Deno.stdin.isTerminal(),
      setRaw: (raw) => Deno.stdin.setRaw(raw),
      consoleSize,
      onStdout: (bytes) => writeAll(Deno.stdout, bytes),
      onStderr: (bytes) => writeAll(Deno.stderr, bytes),
    });
    if (outcome.kind === "exited") {
      return outcome.signal ? 128 + (SIGNAL_NUMBERS[outcome.signal] ?? 0) : outcome.code;
    }
    // Not the container runtime's words: the same line in both modes.
    writeAll(
      Deno.stderr,
      new TextEncoder().encode(
        outcome.kind === "not_found"
          ? `flowctl: command "${outcome.program}" not found\n`
          : `flowctl: cannot run "${outcome.program}": ${outcome.reason}\n`,
      ),
    );
    return outcome.kind === "not_found" ? NOT_FOUND : CANNOT_RUN;
  },
};

function consoleSize(): [number, number] {
  try {
    const { rows, columns } = Deno.consoleSize();
    return [rows, columns];
  } catch {
    return [24, 80];
  }
}

/** `--replica N`: 1 up to the component's replica count. */
function replicaNumber(
  text: string | undefined,
  component: { id: string; replicas?: readonly unknown[] | undefined } | undefined,
): number | undefined {
  if (text === undefined) return undefined;
  const count = component?.replicas?.length ?? 1;
  const replica = Number(text);
  if (!/^\d+$/.test(text) || replica < 1 || replica > count) {
    throw new UsageError(
      `invalid --replica "${text}": component "${component?.id ?? "?"}" has ${count} replica${
        count === 1 ? "" : "s"
      } (1${count > 1 ? `-${count}` : ""})`,
      `run "flowctl exec --help"`,
    );
  }
  return replica;
}
