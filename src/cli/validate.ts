/** `flowctl validate`: checks a pipeline file and reports every problem with its location. */
import { ConfigError, type ConfigIssue, formatIssue } from "../config/mod.ts";
import { preflight } from "../runner/preflight.ts";
import {
  componentRegistry,
  orchestratorKind,
  outputFormat,
  parseCommandArgs,
  singleFile,
} from "./_args.ts";
import { loadPipelineFile } from "./_load.ts";
import type { CommandModule } from "./command.ts";
import { createOutput } from "./output.ts";
import { planDataPath } from "../datapath/plan.ts";
import { edgeLines } from "./_edges.ts";

export const validateCommand: CommandModule = {
  help: `Usage: flowctl validate <file|-> [--orchestrator process|container|swarm] [--strict]
                        [--offline] [--output text|json] [--component-registry R]
                        [--profile NAME]…

Checks a pipeline file: YAML syntax, keys and types, ids, inputs, cycles, durations, ports,
interpolation, and what the chosen orchestrator needs. Prints one line per problem as
file:line:column: path: message. Then runs the checks of run's preflight on this machine,
without starting anything: commands on PATH, working_dir folders, required secret files, and
in container and swarm mode the engine, images and container names. Host ports in use are
warnings (the pipeline itself may be running).

Options:
  --orchestrator  check for this orchestrator instead of spec.driver
  --strict        inputs whose event types never meet, apiVersion "v1" and lists under
                  config (the Go flowctl's) are errors, not warnings
  --offline       leave out the checks that need the Docker engine or a registry
  --output        text (default) or json
  --profile NAME  check with the components of profile NAME enabled (repeatable)
  --component-registry
                  where "type: name@version" components live (default:
                  FLOWCTL_COMPONENT_REGISTRY, else docker.io/withobsrvr)

Exit codes: 0 valid, 2 invalid or usage error.`,
  async run(args) {
    const { values, positionals } = parseCommandArgs("validate", args, {
      orchestrator: { type: "string" },
      "component-registry": { type: "string" },
      output: { type: "string" },
      strict: { type: "boolean" },
      offline: { type: "boolean" },
      profile: { type: "string", multiple: true },
    });
    const out = createOutput(outputFormat("validate", values.output));
    const orchestrator = orchestratorKind("validate", values.orchestrator);
    const file = singleFile("validate", positionals);
    const registry = componentRegistry("validate", values["component-registry"]);
    try {
      const { pipeline, warnings } = await loadPipelineFile(file, {
        ...(orchestrator ? { orchestrator } : {}),
        componentRegistry: registry,
        ...(values.strict ? { strict: true } : {}),
        ...(values.profile ? { profiles: values.profile } : {}),
      });
      const host = await preflight(pipeline, {
        offline: values.offline ?? false,
        signal: AbortSignal.timeout(PREFLIGHT_TIMEOUT_MS),
      });
      const hostIssues = host.problems.map((message) => unlocated(file, message));
      const allWarnings = [...warnings, ...host.busyPorts.map((m) => unlocated(file, m))];
      if (hostIssues.length > 0) throw new ConfigError(hostIssues, { warnings: allWarnings });
      const { edges } = planDataPath(pipeline);
      if (out.format === "json") {
        out.json({
          valid: true,
          file,
          pipeline: pipeline.name,
          namespace: pipeline.namespace ?? null,
          labels: pipeline.labels,
          annotations: pipeline.annotations,
          orchestrator: pipeline.orchestrator,
          driver: pipeline.foreignDriver ?? null,
          components: pipeline.components.map((c) => ({
            id: c.id,
            kind: c.kind,
            inputs: c.inputs,
            dependsOn: c.dependsOn.map((d) => d.id),
            replicas: c.replicas,
          })),
          levels: pipeline.levels,
          edges,
          warnings: allWarnings,
        });
      } else {
        for (const warning of allWarnings) out.error(`warning: ${formatIssue(warning)}`);
        const count = pipeline.components.length;
        out.line(
          `${file} is valid: pipeline "${pipeline.name}", ${count} component${
            count === 1 ? "" : "s"
          } in ${pipeline.levels.length} level${
            pipeline.levels.length === 1 ? "" : "s"
          } (${pipeline.orchestrator})`,
        );
        for (const line of edgeLines(edges)) out.line(line);
      }
      return 0;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      if (out.format === "json") {
        out.json({ valid: false, file, issues: error.issues, warnings: error.warnings });
      } else {
        for (const warning of error.warnings) out.error(`warning: ${formatIssue(warning)}`);
        for (const issue of error.issues) out.error(formatIssue(issue));
      }
      return 2;
    }
  },
};

/** How long the engine and registry checks may take together. */
const PREFLIGHT_TIMEOUT_MS = 30_000;

/** A problem of the file on this machine, with no line to point at. */
function unlocated(file: string, message: string): ConfigIssue {
  return { file, line: 0, column: 0, path: "", message };
}
