/** flowctl entry point: builds the CLI, configures logging, and exits with the command's code. */
import { configure, getTextFormatter, type LogRecord } from "@logtape/logtape";
import { type LogLevel, runCli } from "./src/cli/cli.ts";
import { commands } from "./src/cli/commands.ts";

const encoder = new TextEncoder();
const format = getTextFormatter();

/** Writes diagnostics synchronously so they never interleave with component output. */
function stderrSink(record: LogRecord): void {
  Deno.stderr.writeSync(encoder.encode(format(record)));
}

async function configureLogging(level: LogLevel): Promise<void> {
  await configure({
    reset: true,
    sinks: { stderr: stderrSink },
    loggers: [
      { category: ["flowctl"], lowestLevel: level, sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
}

/**
 * An error escaping a callback must not end flowctl before it has stopped what it started:
 * report it and let the run's own failure handling and cleanup proceed.
 */
function keepRunningOnStrayErrors(): void {
  const report = (error: unknown) => {
    try {
      Deno.stderr.writeSync(
        encoder.encode(
          `flowctl: unexpected error: ${error instanceof Error ? error.stack : String(error)}\n`,
        ),
      );
    } catch {
      // stderr is gone too
    }
  };
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    report(event.error);
  });
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    report(event.reason);
  });
}

if (import.meta.main) {
  keepRunningOnStrayErrors();
  Deno.exit(await runCli(Deno.args, { configureLogging, commands }));
}
