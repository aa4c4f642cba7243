/**
 * Pipeline file text → validated, interpolated `Pipeline` model. Pure: the caller reads the file
 * and the `.env` beside it and passes their text in. Parsing runs as named steps that all report
 * to one collector, so a file's problems are reported together: read document → check schema →
 * flatten sections → ids and inputs → levels → build components → ports → event types →
 * what the mode ignores.
 */
import * as v from "valibot";
import { computeLevels } from "../graph/dependency_graph.ts";
import {
  buildComponent,
  buildConfig,
  checkPorts,
  type ComponentEntry,
  portMappings,
} from "./_build_component.ts";
import { checkInputsShape, dependencyEntries } from "./_dependencies.ts";
import { IssueCollector } from "./_issues.ts";
import { schemaDraft } from "./_schema_draft.ts";
import type { ReferencedComponent } from "./_references.ts";
import { didYouMean } from "./_suggest.ts";
import { describeMismatch, eventTypeMismatches } from "./event_types.ts";
import type { ConfigIssue } from "./config_error.ts";
import type { Component, OrchestratorKind, Pipeline } from "./pipeline.ts";
import { issueMessage, type PipelineFile, PipelineFileSchema } from "./schema.ts";
import { formatPath, type PathSegment, type YamlSource } from "./yaml_path.ts";
import { readDocument } from "./_read_document.ts";
import { goSpellings } from "./_go_spellings.ts";

export { MAX_PIPELINE_BYTES } from "./_read_document.ts";

export interface ParsePipelineOptions {
  /** Path shown in messages and used to resolve relative paths ("-" for standard input). */
  file: string;
  /** Folder relative paths resolve against; the file's folder by default. */
  dir: string;
  /** Environment for interpolation; wins over `dotenv`. */
  env: Record<string, string>;
  /** Values of the `.env` file beside the pipeline file. */
  dotenv?: Record<string, string>;
  /** Overrides `spec.driver`. */
  orchestrator?: OrchestratorKind;
  /** Makes warnings about the file's meaning (event types that never meet) errors. */
  strict?: boolean;
  /** Where `type: name@version` names without `/` live (default `docker.io/withobsrvr`). */
  componentRegistry?: string;
  /** Enabled profiles: components with `profiles` run only when one of theirs is enabled. */
  profiles?: readonly string[];
  /**
   * Reads an `env_file` (an absolute path) and returns its text; throws what went wrong (a
   * missing file: Deno.errors.NotFound). Without it, `env_file` is an error.
   */
  readEnvFile?: (path: string) => string;
}

/** How the text becomes a document: the YAML parser, or a snapshot of an earlier parse. */
export interface ReadPipelineOptions extends ParsePipelineOptions {
  readYaml(text: string): YamlSource;
}

export interface ParsedPipeline {
  pipeline: Pipeline;
  /** Located problems that do not make the file invalid (unset variables). */
  warnings: ConfigIssue[];
}

const SECTIONS = [
  ["sources", "source"],
  ["processors", "processor"],
  ["sinks", "sink"],
  ["pipelines", "pipeline"],
] as const;

/** `spec.driver` values of the Go flowctl that name this flowctl's orchestrators. */
const DRIVERS: Readonly<Record<string, OrchestratorKind>> = {
  process: "process",
  local: "process",
  container: "container",
  docker: "container",
  swarm: "swarm",
};

/**
 * Parses, validates and interpolates a pipeline file.
 * @throws {ConfigError} with every problem found, each with line, column and path.
 */
export function parsePipelineSource(text: string, options: ReadPipelineOptions): ParsedPipeline {
  const issues = new IssueCollector(options.file);
  const data = readDocument(text, options.readYaml, issues);
  const file = checkSchema(data, issues);
  goSpellings(file, issues, options.strict ?? false);
  const driver = file.spec.driver ?? "process";
  const foreignDriver = options.orchestrator || DRIVERS[driver] ? undefined : driver;
  if (foreignDriver) {
    issues.warn(
      ["spec", "driver"],
      `driver "${foreignDriver}" belongs to another tool; the file is checked for containers, and "flowctl run" needs --orchestrator container (or process)`,
    );
  }
  // A foreign driver's files name images, so they are checked as containers.
  const orchestrator = options.orchestrator ?? DRIVERS[driver] ?? "container";
  const all = flattenSections(file, issues);
  const entries = enabledEntries(all, options.profiles ?? [], issues);
  const firstPath = checkIdsAndInputs(all, entries, issues);
  const levels = startLevels(entries, firstPath, issues);
  const envFiles: string[] = [];
  const context = {
    orchestrator,
    dir: options.dir,
    variables: { ...(options.dotenv ?? {}), ...options.env },
    referenced: referencedById(entries),
    issues,
    envFiles,
    ...(options.readEnvFile ? { readEnvFile: options.readEnvFile } : {}),
    ...(options.componentRegistry ? { componentRegistry: options.componentRegistry } : {}),
  };
  const components = entries.map((entry) => buildComponent(entry, context));
  checkPorts(entries, orchestrator, issues);
  checkEventTypes(entries, components, issues, options.strict ?? false);
  if (orchestrator === "process") warnContainerOnly(entries, issues);
  issues.throwIfAny();
  const { metadata } = file;
  return {
    pipeline: {
      name: metadata.name,
      ...(metadata.namespace !== undefined ? { namespace: metadata.namespace } : {}),
      ...(metadata.description !== undefined ? { description: metadata.description } : {}),
      labels: metadata.labels ?? {},
      annotations: metadata.annotations ?? {},
      config: buildConfig(file.spec.config ?? {}, ["spec", "config"], undefined, issues),
      ...(foreignDriver ? { foreignDriver } : {}),
      file: options.file,
      dir: options.dir,
      orchestrator,
      components,
      levels,
      envFiles,
    },
    warnings: issues.warnings,
  };
}

/**
 * Step "check schema": keys, types and value formats; every issue is reported. The later steps
 * then check what is left with the rejected parts cut out (the file stays invalid).
 */
function checkSchema(data: unknown, issues: IssueCollector): PipelineFile {
  const parsed = v.safeParse(PipelineFileSchema, data);
  if (parsed.success) return parsed.output;
  const paths = parsed.issues.map((issue) => {
    const path = (issue.path ?? []).map((item) => item.key as PathSegment);
    const message = issueMessage(issue);
    issues.report(path, message, message.startsWith("unknown key"));
    return path;
  });
  const draft = schemaDraft(data, paths);
  if (!draft) return issues.fail();
  issues.ignoreUnder(draft.cut);
  return draft.file;
}

/** Step "flatten sections": sources, processors and sinks as one list in file order. */
function flattenSections(file: PipelineFile, issues: IssueCollector): ComponentEntry[] {
  const entries: ComponentEntry[] = [];
  for (const [section, kind] of SECTIONS) {
    (file.spec[section] ?? []).forEach((spec, index) =>
      entries.push({ spec, kind, path: ["spec", section, index], ports: portMappings(spec) })
    );
  }
  if (entries.length === 0) {
    issues.report(
      ["spec"],
      "the pipeline has no components: add sources, processors, sinks or pipelines",
    );
  }
  return entries;
}

/**
 * Step "profiles": the components that run. A component with `profiles` runs only when one of
 * them is enabled; an enabled profile that no component has is a warning (a typo).
 */
function enabledEntries(
  all: readonly ComponentEntry[],
  profiles: readonly string[],
  issues: IssueCollector,
): ComponentEntry[] {
  const known = [...new Set(all.flatMap(({ spec }) => spec.profiles ?? []))];
  for (const profile of new Set(profiles)) {
    if (!known.includes(profile)) {
      issues.warn(
        [],
        `no component has profile "${profile}"${didYouMean(profile, known)}${
          known.length > 0 ? ` (profiles in this file: ${quoteList(known)})` : ""
        }`,
      );
    }
  }
  const entries = all.filter(({ spec }) => isEnabled(spec.profiles, profiles));
  if (all.length > 0 && entries.length === 0) {
    issues.report(
      ["spec"],
      `every component is in a profile that is not enabled; enable one with --profile (profiles in this file: ${
        quoteList(known)
      })`,
    );
  }
  return entries;
}

function isEnabled(own: readonly string[] | undefined, enabled: readonly string[]): boolean {
  return own === undefined || own.length === 0 || own.some((profile) => enabled.includes(profile));
}

/**
 * Step "ids and inputs": duplicate ids (of every component, enabled or not), unknown inputs,
 * self-inputs, and edges to a component whose profile is not enabled. Returns each id's path.
 */
function checkIdsAndInputs(
  all: readonly ComponentEntry[],
  entries: readonly ComponentEntry[],
  issues: IssueCollector,
): Map<string, PathSegment[]> {
  const disabled = new Map(
    all.filter((entry) => !entries.includes(entry)).map(({ spec }) => [spec.id, spec.profiles]),
  );
  const seen = new Map<string, PathSegment[]>();
  for (const { spec, path } of all) {
    const earlier = seen.get(spec.id);
    if (earlier) {
      issues.report(
        [...path, "id"],
        `duplicate id "${spec.id}" (first used at ${formatPath(earlier)})`,
      );
    } else seen.set(spec.id, path);
  }
  const firstPath = new Map<string, PathSegment[]>();
  for (const { spec, path } of entries) if (!firstPath.has(spec.id)) firstPath.set(spec.id, path);
  const ids = [...firstPath.keys()];
  for (const { spec, path, kind } of entries) {
    checkInputsShape(spec, kind, path, issues);
    const edges = [
      ...(spec.inputs ?? []).map((id, index) => ({
        id,
        at: ["inputs", index] as PathSegment[],
        atKey: false,
        what: "input",
      })),
      ...dependencyEntries(spec).map((edge) => ({ ...edge, what: "dependency" })),
    ];
    for (const { id, at, atKey, what } of edges) {
      const off = disabled.get(id);
      if (off) {
        issues.report(
          [...path, ...at],
          `component "${spec.id}" needs "${id}", which is only in profile ${
            quoteList(off)
          }, not enabled: enable it with --profile ${
            off[0]
          }, or give "${spec.id}" the same profile`,
          atKey,
        );
      } else if (!firstPath.has(id)) {
        issues.report([...path, ...at], `unknown ${what} "${id}"${didYouMean(id, ids)}`, atKey);
      } else if (id === spec.id) {
        issues.report(
          [...path, ...at],
          `component "${spec.id}" lists itself as ${
            what === "input" ? "an input" : "a dependency"
          }`,
          atKey,
        );
      }
    }
  }
  return firstPath;
}

/** Step "levels": start order; a cycle through two or more components is reported. */
function startLevels(
  entries: readonly ComponentEntry[],
  firstPath: ReadonlyMap<string, PathSegment[]>,
  issues: IssueCollector,
): string[][] {
  // depends_on orders like inputs; a list naming an id twice counts once.
  const graph = computeLevels(
    entries.map(({ spec }) => ({
      id: spec.id,
      inputs: [...new Set([...(spec.inputs ?? []), ...dependencyEntries(spec).map((d) => d.id)])],
    })),
  );
  if (graph.ok) return graph.levels;
  // A one-node cycle is a self-input, already reported by checkIdsAndInputs.
  if (graph.cycle.length > 2) {
    const [first = "", next = ""] = graph.cycle;
    const path = firstPath.get(first) ?? [];
    // Point at the edge that closes the cycle: an input, else a depends_on entry.
    const spec = entries.find((entry) => entry.spec.id === first)?.spec;
    const key = spec?.inputs?.includes(next) ? "inputs" : "depends_on";
    issues.report([...path, key], `dependency cycle: ${graph.cycle.join(" -> ")}`);
  }
  return [];
}

/**
 * What component references need of each id (ports, networking); a duplicate id keeps its first
 * declaration's.
 */
function referencedById(entries: readonly ComponentEntry[]): Map<string, ReferencedComponent> {
  const referenced = new Map<string, ReferencedComponent>();
  for (const { spec, ports } of entries) {
    if (!referenced.has(spec.id)) {
      referenced.set(spec.id, { ports, networkMode: spec.network_mode });
    }
  }
  return referenced;
}

/**
 * Step "event types": an input edge whose ends both declare event types that have none in
 * common carries nothing the consumer reads. A warning, or an error with `strict`.
 */
function checkEventTypes(
  entries: readonly ComponentEntry[],
  components: readonly Component[],
  issues: IssueCollector,
  strict: boolean,
): void {
  const pathOf = new Map(entries.map((entry) => [entry.spec.id, entry.path]));
  for (const mismatch of eventTypeMismatches(components)) {
    const at = [...(pathOf.get(mismatch.component) ?? []), "inputs", mismatch.inputIndex];
    if (strict) issues.report(at, describeMismatch(mismatch));
    else issues.warn(at, describeMismatch(mismatch));
  }
}

const quoteList = (items: readonly string[]) => items.map((item) => `"${item}"`).join(", ");

/** Step "what the mode ignores": volumes and resources apply to containers only; said once each. */
function warnContainerOnly(entries: readonly ComponentEntry[], issues: IssueCollector): void {
  for (const key of ["volumes", "resources"] as const) {
    const users = entries.filter(({ spec }) => spec[key] !== undefined);
    const first = users[0];
    if (!first) continue;
    issues.warn(
      [...first.path, key],
      `"${key}" apply to containers only and are ignored when running as processes (${
        quoteList(users.map(({ spec }) => spec.id))
      })`,
    );
  }
}
