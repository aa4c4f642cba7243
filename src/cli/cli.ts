/** The command dispatcher: picks the command, maps errors to exit codes and one-line messages. */
import { ConfigError, formatIssue } from "../config/config_error.ts";
import { closestMatch } from "../config/_suggest.ts";
import { type Command, wantsHelp } from "./command.ts";
import { ExitCode } from "./exit_code.ts";
import { createOutput } from "./output.ts";
import { UserError } from "../user_error.ts";
import { UsageError } from "./usage_error.ts";
import { VERSION } from "./version.ts";

export interface CliOptions {
  /** Sets the level of flowctl's own diagnostics on stderr. */
  configureLogging(level: LogLevel): Promise<void>;
  commands: readonly Command[];
}

export type LogLevel = "debug" | "info" | "warning" | "error";
const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warning", "error"];

function helpText(all: readonly Command[]): string {
  const commands = all.filter((c) => !c.hidden);
  const width = Math.max(...commands.map((c) => c.name.length));
  return `flowctl ${VERSION}: run data pipelines (sources -> processors -> sinks) as processes or containers

Usage: flowctl <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

Global options:
  --log-level debug|info|warning|error   flowctl's own diagnostics on stderr (default: warning)
  --verbose                              show error causes and stacks
  -h, --help                             help for flowctl or a command

Exit codes: 0 success, 1 runtime or component failure, 2 usage or configuration error,
130 stopped by a second Ctrl+C.`;
}

/**
 * Runs flowctl with `args` and returns the exit code. Never throws.
 */
export async function runCli(argv: readonly string[], options: CliOptions): Promise<number> {
  const commands = [...options.commands].sort((a, b) => a.name.localeCompare(b.name));
  const listed = commands.filter((c) => !c.hidden);
  const out = createOutput("text");
  let verbose = false;
  try {
    const { args, level, verbose: wantsVerbose } = takeGlobalOptions(argv);
    verbose = wantsVerbose;
    await options.configureLogging(level ?? (verbose ? "debug" : "warning"));
    const [name, ...rest] = args;
    if (name === undefined || name === "help" || name === "--help" || name === "-h") {
      const topic = name === "help" ? commands.find((c) => c.name === rest[0]) : undefined;
      out.line(topic ? (await topic.load()).help : helpText(listed));
      return name === undefined ? ExitCode.usage : ExitCode.ok;
    }
    const wanted = name === "--version" || name === "-V" ? "version" : name;
    const command = commands.find((c) => c.name === wanted);
    if (!command) {
      const suggestion = closestMatch(name, listed.map((c) => c.name));
      throw new UsageError(
        `unknown command "${name}"`,
        suggestion
          ? `did you mean "flowctl ${suggestion}"? run "flowctl --help" for the list`
          : `run "flowctl --help" for the list of commands`,
      );
    }
    const loaded = await command.load();
    if (wantsHelp(rest)) {
      out.line(loaded.help);
      return ExitCode.ok;
    }
    return await loaded.run(rest);
  } catch (error) {
    return reportError(error, verbose);
  }
}

function takeGlobalOptions(argv: readonly string[]) {
  const args: string[] = [];
  let level: LogLevel | undefined;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--verbose") verbose = true;
    else if (arg === "--log-level" || arg.startsWith("--log-level=")) {
      const value = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : argv[++i];
      if (!LOG_LEVELS.includes(value as LogLevel)) {
        throw new UsageError(
          `invalid --log-level "${value ?? ""}": use debug, info, warning or error`,
          `run "flowctl --help"`,
        );
      }
      level = value as LogLevel;
    } else args.push(arg);
  }
  return { args, level, verbose };
}

function reportError(error: unknown, verbose: boolean): number {
  const out = createOutput("text");
  if (error instanceof SuppressedError) {
    // Cleaning up after `suppressed` failed with `error`: both matter, the original first.
    const code = reportError(error.suppressed, verbose);
    out.error("flowctl: cleaning up afterwards failed too:");
    reportError(error.error, verbose);
    return code;
  }
  if (error instanceof UsageError) {
    out.error(`flowctl: ${error.message}`);
    out.error(error.hint);
    return error.exitCode;
  }
  if (error instanceof ConfigError) {
    for (const issue of error.issues) out.error(formatIssue(issue));
    return error.exitCode;
  }
  if (error instanceof UserError) {
    out.error(`flowctl: ${error.message}`);
    if (verbose) printCauses(out.error, error);
    return error.exitCode;
  }
  out.error(
    `flowctl: unexpected error: ${
      error instanceof Error ? error.stack ?? error.message : String(error)
    }`,
  );
  if (verbose && error instanceof Error) printCauses(out.error, error);
  return ExitCode.failure;
}

function printCauses(write: (line: string) => void, error: Error): void {
  let cause = error.cause;
  while (cause !== undefined) {
    write(`  caused by: ${cause instanceof Error ? cause.stack ?? cause.message : String(cause)}`);
    cause = cause instanceof Error ? cause.cause : undefined;
  }
}
