/** The "build components" and "ports" steps of `parsePipeline`: one checked `Component` per entry. */
import { isAbsolute, join, normalize } from "node:path";
import type { IssueCollector } from "./_issues.ts";
import { resolveReference } from "./_references.ts";
import { formatDuration, MAX_DURATION_MS, parseDuration } from "./duration.ts";
import { interpolate } from "./interpolate.ts";
import {
  type Component,
  type ComponentKind,
  DEFAULT_HEALTH_TIMINGS,
  DEFAULT_MAX_RESTARTS,
  DEFAULT_STOP_GRACE_MS,
  type HealthCheck,
  type OrchestratorKind,
  type PortMapping,
} from "./pipeline.ts";
import type { ComponentSpec, HealthSpec } from "./schema.ts";
import { splitWords } from "./split_words.ts";
import type { PathSegment } from "./yaml_source.ts";

/** A component as written, where it sits in the file, and its ports with defaults. */
export interface ComponentEntry {
  spec: ComponentSpec;
  kind: ComponentKind;
  path: PathSegment[];
  ports: PortMapping[];
}

/** What building a component needs besides its own entry. */
export interface BuildContext {
  orchestrator: OrchestratorKind;
  /** Folder relative paths resolve against. */
  dir: string;
  /** Variables for interpolation (environment over `.env`). */
  variables: Readonly<Record<string, string>>;
  /** Ports of every component by id, for component references. */
  portsOf: ReadonlyMap<string, PortMapping[]>;
  issues: IssueCollector;
}

type Expand = (value: string, at: PathSegment[]) => string;

/** Ports as written, with their default names and host IP. */
export function portMappings(spec: ComponentSpec): PortMapping[] {
  return (spec.ports ?? []).map((port, index) => ({
    name: port.name ?? (index === 0 ? "default" : `port${index}`),
    containerPort: port.containerPort,
    ...(port.hostPort !== undefined ? { hostPort: port.hostPort } : {}),
    hostIp: port.hostIp ?? "127.0.0.1",
  }));
}

/** Interpolates, checks and fills in defaults for one component; problems go to the collector. */
export function buildComponent(entry: ComponentEntry, context: BuildContext): Component {
  const { spec, kind, path, ports } = entry;
  const { orchestrator, issues } = context;
  const expand = expander(context);
  const argv = buildArgv(spec, path, expand, issues);
  const env = buildEnv(spec, path, expand, issues);
  const image = spec.image === undefined ? undefined : expand(spec.image, [...path, "image"]);

  if (orchestrator === "process" && argv.length === 0) {
    issues.report(path, `component "${spec.id}" needs a "command" to run as a process`);
  }
  if (orchestrator !== "process" && !image) {
    issues.report(
      path,
      `component "${spec.id}" needs an "image" to run as a ${
        orchestrator === "swarm" ? "swarm service" : "container"
      }`,
    );
  }
  const health = buildHealth(spec, path, ports, issues);
  return {
    id: spec.id,
    kind,
    inputs: spec.inputs ?? [],
    argv,
    workingDir: resolveDir(context.dir, spec.working_dir ?? "."),
    ...(image !== undefined ? { image } : {}),
    pullPolicy: spec.pull_policy ?? "missing",
    env,
    ports,
    ...(health ? { health } : {}),
    restart: spec.restart ?? "no",
    maxRestarts: spec.max_restarts ?? DEFAULT_MAX_RESTARTS,
    stopGraceMs: durationMs(spec.stop_grace_period, [...path, "stop_grace_period"], issues) ??
      DEFAULT_STOP_GRACE_MS,
    privileged: spec.privileged ?? false,
    networkMode: spec.network_mode ?? "bridge",
    placementConstraints: spec.placement?.constraints?.map((c) => c.trim()) ?? [],
    endpointMode: spec.endpoint_mode ?? "dnsrr",
  };
}

/**
 * Reports host ports claimed by two components (in process mode a port's host port is its
 * container port) and port names used twice within a component.
 */
export function checkPorts(
  entries: readonly ComponentEntry[],
  orchestrator: OrchestratorKind,
  issues: IssueCollector,
): void {
  const hostPorts = new Map<number, string>();
  for (const { spec, path, ports } of entries) {
    ports.forEach((port, index) => {
      const hostPort = port.hostPort ??
        (orchestrator === "process" ? port.containerPort : undefined);
      if (hostPort === undefined) return;
      const owner = hostPorts.get(hostPort);
      if (owner === undefined) hostPorts.set(hostPort, spec.id);
      else {
        issues.report(
          [...path, "ports", index],
          `host port ${hostPort} is already claimed by component "${owner}"`,
        );
      }
    });
    const names = new Set<string>();
    ports.forEach((port, index) => {
      if (names.has(port.name)) {
        issues.report([...path, "ports", index, "name"], `duplicate port name "${port.name}"`);
      }
      names.add(port.name);
    });
  }
}

/** Interpolation of one value; a failure is reported at `at` and leaves the value as written. */
function expander(context: BuildContext): Expand {
  const { issues } = context;
  return (value, at) => {
    try {
      return interpolate(value, {
        lookup: (name) => context.variables[name],
        resolveComponent: (reference) =>
          resolveReference(reference, context.orchestrator, context.portsOf),
        warn: (message) => issues.warn(at, message),
      });
    } catch (error) {
      issues.report(at, error instanceof Error ? error.message : String(error));
      return value;
    }
  };
}

/** `command` (a list, or a string split like shell words) followed by `args`. */
function buildArgv(
  spec: ComponentSpec,
  path: PathSegment[],
  expand: Expand,
  issues: IssueCollector,
): string[] {
  let argv: string[] = [];
  if (typeof spec.command === "string") {
    try {
      argv = splitWords(expand(spec.command, [...path, "command"]));
    } catch (error) {
      issues.report([...path, "command"], `cannot split command: ${(error as Error).message}`);
    }
  } else if (spec.command) {
    argv = spec.command.map((word, i) => expand(String(word), [...path, "command", i]));
  }
  argv.push(...(spec.args ?? []).map((word, i) => expand(String(word), [...path, "args", i])));
  return argv;
}

function buildEnv(
  spec: ComponentSpec,
  path: PathSegment[],
  expand: Expand,
  issues: IssueCollector,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(spec.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      issues.report([...path, "env", key], `invalid variable name "${key}"`, true);
    }
    env[key] = expand(String(value), [...path, "env", key]);
  }
  return env;
}

/** The health check from either the `health` mapping or the `health_check`/`health_port` pair. */
function buildHealth(
  spec: ComponentSpec,
  path: PathSegment[],
  ports: readonly PortMapping[],
  issues: IssueCollector,
): HealthCheck | undefined {
  const shorthand = spec.health_check !== undefined || spec.health_port !== undefined;
  if (spec.health && shorthand) {
    issues.report(
      [...path, spec.health_check !== undefined ? "health_check" : "health_port"],
      'use either "health" or "health_check"/"health_port", not both',
      true,
    );
    return undefined;
  }
  if (shorthand) {
    const port = spec.health_port ?? ports.find((p) => p.name === "health")?.containerPort;
    if (port === undefined) {
      issues.report(
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
  return spec.health ? buildFullHealth(spec.health, [...path, "health"], issues) : undefined;
}

function buildFullHealth(
  health: HealthSpec,
  path: PathSegment[],
  issues: IssueCollector,
): HealthCheck | undefined {
  const kinds = (["http", "tcp", "registered"] as const).filter((k) =>
    health[k] !== undefined && health[k] !== false
  );
  if (kinds.length !== 1) {
    issues.report(
      path,
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
  const timing = (key: "interval" | "timeout" | "start_period", minMs: number) =>
    durationMs(health[key], [...path, key], issues, minMs);
  return {
    probe,
    intervalMs: timing("interval", 1) ?? DEFAULT_HEALTH_TIMINGS.intervalMs,
    timeoutMs: timing("timeout", 1) ?? DEFAULT_HEALTH_TIMINGS.timeoutMs,
    retries: health.retries ?? DEFAULT_HEALTH_TIMINGS.retries,
    startPeriodMs: timing("start_period", 0) ?? DEFAULT_HEALTH_TIMINGS.startPeriodMs,
  };
}

/**
 * A duration of the file in milliseconds, bounded so timers never overflow: at most 24h, and at
 * least `minMs` (an interval or timeout of 0 would probe in a busy loop or always fail).
 */
function durationMs(
  text: string | undefined,
  path: PathSegment[],
  issues: IssueCollector,
  minMs = 0,
): number | undefined {
  if (text === undefined) return undefined;
  let ms = Infinity;
  try {
    ms = parseDuration(text);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error; // the schema checked the format
  }
  if (ms > MAX_DURATION_MS) {
    issues.report(
      path,
      `duration "${text}" is too long: at most ${formatDuration(MAX_DURATION_MS)}`,
    );
  } else if (ms < minMs) {
    issues.report(path, `duration "${text}" is too short: at least ${formatDuration(minMs)}`);
  }
  return ms;
}

function resolveDir(base: string, dir: string): string {
  return normalize(isAbsolute(dir) ? dir : join(base, dir));
}
