/** flowctl entry point: builds the CLI, configures logging, and exits with the command's code. */
import { configure, getTextFormatter, type LogRecord } from "@logtape/logtape";
import { type LogLevel, runCli } from "./src/cli/cli.ts";
import { commands, isKnownError } from "./src/cli/commands.ts";

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

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args, { configureLogging, commands, isKnownError }));
}
