/** `flowctl version`: prints flowctl's version and the runtime it runs on. */
import { outputFormat, parseCommandArgs } from "./_args.ts";
import type { CommandModule } from "./command.ts";
import { createOutput } from "./output.ts";

export const VERSION = "0.1.0";

export const versionCommand: CommandModule = {
  help: `Usage: flowctl version [--output text|json]

Prints the version of flowctl and of the Deno runtime it runs on.

Exit codes: 0 printed, 2 usage error.`,
  run(args) {
    const { values } = parseCommandArgs("version", args, { output: { type: "string" } });
    const out = createOutput(outputFormat("version", values.output));
    if (out.format === "json") out.json({ version: VERSION, deno: Deno.version.deno });
    else out.line(`flowctl ${VERSION} (deno ${Deno.version.deno})`);
    return Promise.resolve(0);
  },
};
