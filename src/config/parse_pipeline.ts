/**
 * Pipeline file text → validated, interpolated `Pipeline` model. Pure: the caller reads the file
 * and the `.env` beside it and passes their text in.
 */
import { isAbsolute, join, normalize } from "node:path";
import * as v from "valibot";
import { computeLevels } from "../graph/dependency_graph.ts";
import { didYouMean } from "./_suggest.ts";
import { ConfigError, type ConfigIssue } from "./config_error.ts";
import { parseDuration } from "./duration.ts";
import { interpolate, type InterpolationContext } from "./interpolate.ts";
import {
  type Component,
  type ComponentKind,
  DEFAULT_HEALTH_TIMINGS,
  DEFAULT_MAX_RESTARTS,
  DEFAULT_STOP_GRACE_MS,
  type HealthCheck,
  type OrchestratorKind,
  type Pipeline,
  type PortMapping,
} from "./pipeline.ts";
import { type ComponentSpec, issueMessage, PipelineFileSchema } from "./schema.ts";
import { splitWords } from "./split_words.ts";
import { formatPath, parseYamlSource, type PathSegment } from "./yaml_source.ts";

/** Pipeline files larger than this are refused before parsing. */
export const MAX_PIPELINE_BYTES = 1024 * 1024;
const MAX_ALIAS_COUNT = 100;

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
}

export interface ParsedPipeline {
  pipeline: Pipeline;
  /** Located problems that do not make the file invalid (unset variables). */
  warnings: ConfigIssue[];
}

const SECTIONS = [["sources", "source"], ["processors", "processor"], ["sinks", "sink"]] as const;

/**
 * Parses, validates and interpolates a pipeline file.
 * @throws {ConfigError} with every problem found, each with line, column and path.
 */
export function parsePipeline(text: string, options: ParsePipelineOptions): ParsedPipeline {
  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const fail = (line: number, column: number, path: readonly PathSegment[], message: string) =>
    issues.push({
      file: options.file,
      line,
      column,
      path: clip(formatPath(path)),
      message: clip(message),
    });

  const bytes = new TextEncoder().encode(text).length;
  if (bytes > MAX_PIPELINE_BYTES) {
    fail(
      0,
      0,
      [],
      `file is ${bytes} bytes; pipeline files are limited to ${MAX_PIPELINE_BYTES} bytes`,
    );
    throw new ConfigError(issues);
  }
  if (text.includes("\0")) {
    fail(0, 0, [], "file contains NUL bytes; it is not a YAML text file");
    throw new ConfigError(issues);
  }

  let source;
  let data: unknown;
  try {
    source = parseYamlSource(text);
    for (const error of source.syntaxErrors) {
      fail(error.line, error.column, [], `YAML syntax error: ${error.message}`);
    }
    if (issues.length > 0) throw new ConfigError(issues);
    data = source.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const reason = error instanceof RangeError && /call stack/.test(error.message)
      ? "the document is nested too deeply"
      : error instanceof Error && /alias/i.test(error.message)
      ? `too many alias expansions (more than ${MAX_ALIAS_COUNT}); alias bombs are refused`
      : `cannot read YAML: ${error instanceof Error ? error.message : String(error)}`;
    fail(1, 1, [], reason);
    throw new ConfigError(issues, { cause: error });
  }
  if (data === null || data === undefined) {
    fail(1, 1, [], "the file is empty; expected a Pipeline document");
    throw new ConfigError(issues);
  }

  const parsed = v.safeParse(PipelineFileSchema, data);
  if (!parsed.success) {
    for (const issue of parsed.issues) {
      const path = (issue.path ?? []).map((item) => item.key as PathSegment);
      const message = issueMessage(issue);
      const { line, column } = source.locate(path, message.startsWith("unknown key"));
      fail(line, column, path, message);
    }
    throw new ConfigError(sortIssues(issues));
  }
  const file = parsed.output;
  const orchestrator = options.orchestrator ?? file.spec.driver ?? "process";
  const locate = (path: readonly PathSegment[], atKey = false) => source.locate(path, atKey);
  const report = (path: readonly PathSegment[], message: string, atKey = false) => {
    const { line, column } = locate(path, atKey);
    fail(line, column, path, message);
  };

  // Flatten the three sections, remembering each component's path.
  const specs: { spec: ComponentSpec; kind: ComponentKind; path: PathSegment[] }[] = [];
  for (const [section, kind] of SECTIONS) {
    (file.spec[section] ?? []).forEach((spec, index) =>
      specs.push({ spec, kind, path: ["spec", section, index] })
    );
  }
  if (specs.length === 0) {
    report(["spec"], "the pipeline has no components: add sources, processors or sinks");
  }

  const firstPath = new Map<string, PathSegment[]>();
  for (const { spec, path } of specs) {
    const earlier = firstPath.get(spec.id);
    if (earlier) {
      report([...path, "id"], `duplicate id "${spec.id}" (first used at ${formatPath(earlier)})`);
    } else firstPath.set(spec.id, path);
  }
  const ids = [...firstPath.keys()];
  for (const { spec, path } of specs) {
    (spec.inputs ?? []).forEach((input, index) => {
      if (!firstPath.has(input)) {
        report([...path, "inputs", index], `unknown input "${input}"${didYouMean(input, ids)}`);
      } else if (input === spec.id) {
        report([...path, "inputs", index], `component "${spec.id}" lists itself as an input`);
      }
    });
  }

  const graph = computeLevels(
    specs.map(({ spec }) => ({ id: spec.id, inputs: spec.inputs ?? [] })),
  );
  if (!graph.ok && graph.cycle.length > 2) {
    const path = firstPath.get(graph.cycle[0] ?? "") ?? [];
    report([...path, "inputs"], `dependency cycle: ${graph.cycle.join(" -> ")}`);
  }

  const portsOf = new Map<string, PortMapping[]>();
  for (const { spec } of specs) {
    portsOf.set(
      spec.id,
      (spec.ports ?? []).map((port, index) => ({
        name: port.name ?? (index === 0 ? "default" : `port${index}`),
        containerPort: port.containerPort,
        ...(port.hostPort !== undefined ? { hostPort: port.hostPort } : {}),
        hostIp: port.hostIp ?? "127.0.0.1",
      })),
    );
  }

  const variables = { ...(options.dotenv ?? {}), ...options.env };
  const components: Component[] = [];
  const hostPorts = new Map<number, string>();

  for (const { spec, kind, path } of specs) {
    const ports = portsOf.get(spec.id) ?? [];
    const expand = (value: string, at: PathSegment[]): string => {
      const context: InterpolationContext = {
        lookup: (name) => variables[name],
        resolveComponent: (reference) => resolveReference(reference, orchestrator, portsOf),
        warn: (message) => {
          const { line, column } = locate(at);
          warnings.push({ file: options.file, line, column, path: formatPath(at), message });
        },
      };
      try {
        return interpolate(value, context);
      } catch (error) {
        report(at, error instanceof Error ? error.message : String(error));
        return value;
      }
    };

    let argv: string[] = [];
    if (typeof spec.command === "string") {
      try {
        argv = splitWords(expand(spec.command, [...path, "command"]));
      } catch (error) {
        report([...path, "command"], `cannot split command: ${(error as Error).message}`);
      }
    } else if (spec.command) {
      argv = spec.command.map((word, i) => expand(word, [...path, "command", i]));
    }
    argv.push(...(spec.args ?? []).map((word, i) => expand(word, [...path, "args", i])));
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(spec.env ?? {})) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
        report([...path, "env", key], `invalid variable name "${key}"`, true);
      }
      env[key] = expand(String(value), [...path, "env", key]);
    }
    const image = spec.image === undefined ? undefined : expand(spec.image, [...path, "image"]);

    if (orchestrator === "process" && argv.length === 0) {
      report(path, `component "${spec.id}" needs a "command" to run as a process`);
    }
    if (orchestrator === "container" && !image) {
      report(path, `component "${spec.id}" needs an "image" to run as a container`);
    }

    ports.forEach((port, index) => {
      const hostPort = port.hostPort ??
        (orchestrator === "process" ? port.containerPort : undefined);
      if (hostPort === undefined) return;
      const owner = hostPorts.get(hostPort);
      if (owner !== undefined) {
        report(
          [...path, "ports", index],
          `host port ${hostPort} is already claimed by component "${owner}"`,
        );
      } else {
        hostPorts.set(hostPort, spec.id);
      }
    });
    const names = new Set<string>();
    ports.forEach((port, index) => {
      if (names.has(port.name)) {
        report([...path, "ports", index, "name"], `duplicate port name "${port.name}"`);
      }
      names.add(port.name);
    });

    const health = buildHealth(spec, path, ports, report);
    const stopGraceMs = spec.stop_grace_period === undefined
      ? DEFAULT_STOP_GRACE_MS
      : parseDuration(spec.stop_grace_period);
    const workingDir = resolveDir(options.dir, spec.working_dir ?? ".");

    components.push({
      id: spec.id,
      kind,
      inputs: spec.inputs ?? [],
      argv,
      workingDir,
      ...(image !== undefined ? { image } : {}),
      pullPolicy: spec.pull_policy ?? "missing",
      env,
      ports,
      ...(health ? { health } : {}),
      restart: spec.restart ?? "no",
      maxRestarts: spec.max_restarts ?? DEFAULT_MAX_RESTARTS,
      stopGraceMs,
      privileged: spec.privileged ?? false,
      networkMode: spec.network_mode ?? "bridge",
      line: locate(path).line,
    });
  }

  if (issues.length > 0) throw new ConfigError(sortIssues(issues));
  const levels = graph.ok ? graph.levels : [];
  return {
    pipeline: {
      name: file.metadata.name,
      file: options.file,
      dir: options.dir,
      orchestrator,
      components,
      levels,
    },
    warnings,
  };
}

function buildHealth(
  spec: ComponentSpec,
  path: PathSegment[],
  ports: PortMapping[],
  report: (path: readonly PathSegment[], message: string, atKey?: boolean) => void,
): HealthCheck | undefined {
  const shorthand = spec.health_check !== undefined || spec.health_port !== undefined;
  if (spec.health && shorthand) {
    report(
      [...path, spec.health_check !== undefined ? "health_check" : "health_port"],
      'use either "health" or "health_check"/"health_port", not both',
      true,
    );
    return undefined;
  }
  if (shorthand) {
    const port = spec.health_port ?? ports.find((p) => p.name === "health")?.containerPort;
    if (port === undefined) {
      report(
        [...path, "health_check"],
        'health_check needs "health_port" (or a port named "health")',
        true,
      );
      return undefined;
    }
    return {
      probe: { type: "http", path: spec.health_check ?? "/health", port },
      ...DEFAULT_HEALTH_TIMINGS,
    };
  }
  const health = spec.health;
  if (!health) return undefined;
  const kinds = (["http", "tcp", "registered"] as const).filter((k) =>
    health[k] !== undefined && health[k] !== false
  );
  if (kinds.length !== 1) {
    report(
      [...path, "health"],
      kinds.length === 0
        ? 'health needs one of "http", "tcp" or "registered: true"'
        : `health has ${kinds.map((k) => `"${k}"`).join(" and ")}; use exactly one`,
    );
    return undefined;
  }
  const probe = health.http
    ? { type: "http" as const, path: health.http.path ?? "/health", port: health.http.port }
    : health.tcp
    ? { type: "tcp" as const, port: health.tcp.port }
    : { type: "registered" as const };
  return {
    probe,
    intervalMs: health.interval
      ? parseDuration(health.interval)
      : DEFAULT_HEALTH_TIMINGS.intervalMs,
    timeoutMs: health.timeout ? parseDuration(health.timeout) : DEFAULT_HEALTH_TIMINGS.timeoutMs,
    retries: health.retries ?? DEFAULT_HEALTH_TIMINGS.retries,
    startPeriodMs: health.start_period
      ? parseDuration(health.start_period)
      : DEFAULT_HEALTH_TIMINGS.startPeriodMs,
  };
}

/** Resolves `<id>.host`, `<id>.endpoint` or `<id>.ports.<name>` for one orchestrator. */
function resolveReference(
  reference: string,
  orchestrator: OrchestratorKind,
  portsOf: ReadonlyMap<string, PortMapping[]>,
): string {
  const known = [...portsOf.keys()];
  const unknown = (id: string) =>
    new ReferenceError(
      `unknown component "${id}" in \${components.${reference}}${didYouMean(id, known)}`,
    );
  const hostOf = (id: string) => (orchestrator === "process" ? "127.0.0.1" : id);

  const portsAt = reference.lastIndexOf(".ports.");
  if (portsAt > 0) {
    const id = reference.slice(0, portsAt);
    const name = reference.slice(portsAt + ".ports.".length);
    const ports = portsOf.get(id);
    if (!ports) throw unknown(id);
    const port = ports.find((p) => p.name === name);
    if (!port) {
      throw new ReferenceError(
        `component "${id}" has no port named "${name}"${
          didYouMean(name, ports.map((p) => p.name))
        }`,
      );
    }
    return String(port.containerPort);
  }
  for (const field of ["host", "endpoint"] as const) {
    if (!reference.endsWith(`.${field}`)) continue;
    const id = reference.slice(0, -field.length - 1);
    const ports = portsOf.get(id);
    if (!ports) throw unknown(id);
    if (field === "host") return hostOf(id);
    const port = ports.find((p) => p.name === "grpc") ?? ports[0];
    if (!port) throw new ReferenceError(`component "${id}" has no ports, so it has no endpoint`);
    return `${hostOf(id)}:${port.containerPort}`;
  }
  throw new ReferenceError(
    `invalid component reference \${components.${reference}}: use .host, .endpoint or .ports.<name>`,
  );
}

function resolveDir(base: string, dir: string): string {
  return normalize(isAbsolute(dir) ? dir : join(base, dir));
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Keeps messages one readable line: long quoted values are cut, control characters escaped. */
export function clip(message: string): string {
  const short = message
    .replace(
      /"([^"]{60,})"/g,
      (_, value: string) => `"${value.slice(0, 40)}…" (${value.length} characters)`,
    )
    .replace(
      // deno-lint-ignore no-control-regex
      /[\u0000-\u0008\u000b-\u001f\u007f\u2028\u2029]/g,
      (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
    )
    .replaceAll("\n", "\\n");
  return short.length > 500 ? `${short.slice(0, 499)}…` : short;
}
