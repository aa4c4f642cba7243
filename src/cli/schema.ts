/** `flowctl schema`: the JSON Schema of pipeline files, generated from the valibot schema. */
import { toJsonSchema } from "@valibot/to-json-schema";
import { PipelineFileSchema } from "../config/mod.ts";
import { parseCommandArgs } from "./_args.ts";
import type { CommandModule } from "./command.ts";
import { createOutput } from "./output.ts";
import { UsageError } from "./usage_error.ts";
import { VERSION } from "./version.ts";

/** Builds the JSON Schema document for pipeline files. */
export function pipelineJsonSchema(): Record<string, unknown> {
  const schema = toJsonSchema(PipelineFileSchema, { errorMode: "ignore", target: "draft-07" });
  return {
    ...schema,
    $id: `https://flowctl.dev/schema/pipeline-v1.json`,
    title: `flowctl pipeline (flowctl ${VERSION})`,
  };
}

export const schemaCommand: CommandModule = {
  help: `Usage: flowctl schema

Prints the JSON Schema (draft-07) of pipeline files, for editors. With yaml-language-server:
  flowctl schema > pipeline.schema.json
and put this first line in a pipeline file:
  # yaml-language-server: $schema=./pipeline.schema.json

Exit codes: 0 printed, 2 usage error.`,
  run(args) {
    const { positionals } = parseCommandArgs("schema", args, {});
    if (positionals.length > 0) {
      throw new UsageError(
        `unexpected argument "${positionals[0]}"`,
        `usage: flowctl schema (see "flowctl schema --help")`,
      );
    }
    createOutput("json").line(JSON.stringify(pipelineJsonSchema(), null, 2));
    return Promise.resolve(0);
  },
};
