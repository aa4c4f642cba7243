/** `flowctl validate`: checks a pipeline file and reports every problem with its location. */
import { ConfigError, formatIssue } from "../config/mod.ts";
import { orchestratorKind, outputFormat, parseCommandArgs, singleFile } from "./_args.ts";
import { loadPipelineFile } from "./_load.ts";
import type { CommandModule } from "./command.ts";
import { createOutput } from "./output.ts";

export const validateCommand: CommandModule = {
  help:
    `Usage: flowctl validate <file|-> [--orchestrator process|container|swarm] [--output text|json]

Checks a pipeline file: YAML syntax, keys and types, ids, inputs, cycles, durations, ports,
interpolation, and what the chosen orchestrator needs. Prints one line per problem as
file:line:column: path: message.

Options:
  --orchestrator  check for this orchestrator instead of spec.driver
  --output        text (default) or json

Exit codes: 0 valid, 2 invalid or usage error.`,
  async run(args) {
    const { values, positionals } = parseCommandArgs("validate", args, {
      orchestrator: { type: "string" },
      output: { type: "string" },
    });
    const out = createOutput(outputFormat("validate", values.output));
    const orchestrator = orchestratorKind("validate", values.orchestrator);
    const file = singleFile("validate", positionals);
    try {
      const { pipeline, warnings } = await loadPipelineFile(
        file,
        orchestrator ? { orchestrator } : {},
      );
      if (out.format === "json") {
        out.json({
          valid: true,
          file,
          pipeline: pipeline.name,
          orchestrator: pipeline.orchestrator,
          components: pipeline.components.map((c) => ({
            id: c.id,
            kind: c.kind,
            inputs: c.inputs,
          })),
          levels: pipeline.levels,
          warnings,
        });
      } else {
        for (const warning of warnings) out.error(`warning: ${formatIssue(warning)}`);
        const count = pipeline.components.length;
        out.line(
          `${file} is valid: pipeline "${pipeline.name}", ${count} component${
            count === 1 ? "" : "s"
          } in ${pipeline.levels.length} level${
            pipeline.levels.length === 1 ? "" : "s"
          } (${pipeline.orchestrator})`,
        );
      }
      return 0;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      if (out.format === "json") out.json({ valid: false, file, issues: error.issues });
      else for (const issue of error.issues) out.error(formatIssue(issue));
      return 2;
    }
  },
};
