/** `flowctl graph`: prints a pipeline's graph as Mermaid, DOT or JSON without starting anything. */
import { graphOf } from "../config/mod.ts";
import { formatGraph, type GraphFormat } from "../graph/pipeline_graph.ts";
import { orchestratorKind, parseCommandArgs, singleFile } from "./_args.ts";
import { loadPipelineFile } from "./_load.ts";
import type { CommandModule } from "./command.ts";
import { ExitCode } from "./exit_code.ts";
import { createOutput } from "./output.ts";
import { UsageError } from "./usage_error.ts";

const FORMATS: readonly GraphFormat[] = ["mermaid", "dot", "json"];

export const graphCommand: CommandModule = {
  help: `Usage: flowctl graph <file|-> [--format mermaid|dot|json] [--orchestrator MODE]
                     [--profile NAME]…

Prints the pipeline's graph without starting anything: each component with its kind, mode,
image or command and ports; an edge per input (labelled with the event types declared on it)
and a dashed one per depends_on. Mermaid (the default) renders on GitHub inside a
\`\`\`mermaid block; DOT is for Graphviz (flowctl graph p.yaml --format dot | dot -Tsvg).

Exit codes: 0 printed, 2 usage or configuration error.`,
  async run(args) {
    const { values, positionals } = parseCommandArgs("graph", args, {
      format: { type: "string" },
      orchestrator: { type: "string" },
      profile: { type: "string", multiple: true },
    });
    const format = values.format ?? "mermaid";
    if (!FORMATS.some((known) => known === format)) {
      throw new UsageError(
        `invalid --format "${format}": use "mermaid", "dot" or "json"`,
        `run "flowctl graph --help"`,
      );
    }
    const orchestrator = orchestratorKind("graph", values.orchestrator);
    const { pipeline } = await loadPipelineFile(singleFile("graph", positionals), {
      ...(orchestrator ? { orchestrator } : {}),
      ...(values.profile ? { profiles: values.profile } : {}),
    });
    createOutput("text").line(formatGraph(graphOf(pipeline), format as GraphFormat));
    return ExitCode.ok;
  },
};
