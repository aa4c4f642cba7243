/** The "build components" and "ports" steps of `parsePipeline`: one checked `Component` per entry. */
import { checkEnvLimits } from "./_env_limits.ts";
import { componentReference, formatReference, imageReference } from "../registry/reference.ts";
import { dependencyEntries } from "./_dependencies.ts";
import type { IssueCollector } from "./_issues.ts";
import { type ReferencedComponent, resolveReference } from "./_references.ts";
import { type Expand, interpolate } from "./interpolate.ts";
import { buildEnv, readEnvFiles } from "./_build_env.ts";
import { buildHealth, durationMs } from "./_build_health.ts";
import { buildSecret, buildVolume, resolveDir } from "./_build_storage.ts";
import {
  type Component,
  type ComponentKind,
  DEFAULT_MAX_RESTARTS,
  DEFAULT_STOP_GRACE_MS,
  type ImageExecutable,
  type OrchestratorKind,
  type PortMapping,
  type Resources,
} from "./pipeline.ts";
import { parseCpu, parseMemory } from "./quantity.ts";
import type { ComponentSpec, ResourcesSpec } from "./schema.ts";
import { splitWords } from "./split_words.ts";
import type { PathSegment } from "./yaml_path.ts";

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
  /** What component references need of every component, by id. */
  referenced: ReadonlyMap<string, ReferencedComponent>;
  issues: IssueCollector;
  /** Where `type: name@version` names without `/` live. */
  componentRegistry?: string;
  /** Reads an `env_file` by absolute path (see ParsePipelineOptions.readEnvFile). */
  readEnvFile?: (path: string) => string;
  /** Collects the absolute paths of the `env_file`s read. */
  envFiles: string[];
}

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
  const { command, args } = buildCommand(spec, path, expand, issues);
  const argv = [...command, ...args];
  const env = { ...readEnvFiles(spec, path, context), ...buildEnv(spec, path, expand, issues) };
  checkEnvLimits(env, argv, { path, written: Object.keys(spec.env ?? {}) }, issues);
  const written = spec.image === undefined ? undefined : expand(spec.image, [...path, "image"]);
  const type = spec.type === undefined ? undefined : expand(spec.type, [...path, "type"]);
  const registryImage = registryComponentImage(type, command, written, path, context);
  const image = written ?? registryImage;
  // Without a command, a process runs an executable of its image (src/registry).
  const fromImage = orchestrator === "process" && command.length === 0 && image
    ? imageExecutable(spec.id, type, image, registryImage !== undefined, [...path, "image"], issues)
    : undefined;
  // A registry type that does not parse was reported already.
  const badRegistryType = type?.includes("@") && command.length === 0 && !image;
  if (orchestrator === "process" && argv.length === 0 && !image && !badRegistryType) {
    issues.report(
      path,
      `component "${spec.id}" needs a "command" (or an "image", or a registry "type" such as "name@v1") to run as a process`,
    );
  }
  if (orchestrator !== "process" && !image && !badRegistryType) {
    issues.report(
      path,
      `component "${spec.id}" needs an "image" to run as a ${
        orchestrator === "swarm" ? "swarm service" : "container"
      }`,
    );
  }
  const health = buildHealth(spec, path, ports, expand, issues);
  const resources = spec.resources &&
    buildResources(spec.resources, [...path, "resources"], issues);
  const replicas = spec.replicas ?? 1;
  if (replicas > 1) {
    // A health port is a port the process listens on too.
    const probed = health && "port" in health.probe && orchestrator === "process"
      ? [{ name: "health", containerPort: health.probe.port, hostIp: "127.0.0.1" }]
      : [];
    checkReplicaPorts(spec.id, replicas, path, [...ports, ...probed], orchestrator, issues);
  }
  return {
    id: spec.id,
    kind,
    ...(type !== undefined ? { type } : {}),
    inputs: spec.inputs ?? [],
    dependsOn: dependencyEntries(spec).map(({ id, condition }) => ({ id, condition })),
    argv,
    command,
    args,
    config: buildConfig(spec.config ?? {}, [...path, "config"], expand, issues),
    ...(fromImage ? { fromImage } : {}),
    inputEventTypes: spec.input_event_types ?? [],
    outputEventTypes: spec.output_event_types ?? [],
    volumes: (spec.volumes ?? []).map((volume, i) =>
      buildVolume(volume, [...path, "volumes", i], context.dir, expand, issues)
    ).filter((volume) => volume !== undefined),
    secrets: (spec.secrets ?? []).map((secret, i) =>
      buildSecret(secret, [...path, "secrets", i], context.dir, expand, issues)
    ),
    ...(resources ? { resources } : {}),
    replicas,
    workingDir: resolveDir(context.dir, spec.working_dir ?? "."),
    ...(image !== undefined ? { image } : {}),
    pullPolicy: spec.pull_policy ?? "missing",
    env,
    ports,
    ...(health ? { health } : {}),
    restart: restartPolicy(spec, path, issues),
    maxRestarts: spec.max_restarts ?? DEFAULT_MAX_RESTARTS,
    stopGraceMs: durationMs(spec.stop_grace_period, [...path, "stop_grace_period"], issues) ??
      DEFAULT_STOP_GRACE_MS,
    privileged: spec.privileged ?? false,
    networkMode: spec.network_mode ?? "bridge",
    placementConstraints: spec.placement?.constraints?.map((c) => c.trim()) ?? [],
    endpointMode: spec.endpoint_mode ?? "dnsrr",
    ...(spec.data_path ? { dataPath: spec.data_path } : {}),
  };
}

/**
 * The image of a registry component: `type: name@version` without `command` and `image`
 * (reference rules in src/registry/reference.ts).
 */
function registryComponentImage(
  type: string | undefined,
  command: readonly string[],
  image: string | undefined,
  path: PathSegment[],
  context: BuildContext,
): string | undefined {
  if (!type?.includes("@") || command.length > 0 || image !== undefined) return undefined;
  try {
    return formatReference(componentReference(type, context.componentRegistry));
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    context.issues.report([...path, "type"], error.message);
    return undefined;
  }
}

/** What process mode runs for a component without `command`: an executable of its image. */
function imageExecutable(
  id: string,
  type: string | undefined,
  image: string,
  registryComponent: boolean,
  at: PathSegment[],
  issues: IssueCollector,
): ImageExecutable | undefined {
  if (registryComponent) return { reference: image, kind: "component", name: "component" };
  try {
    const reference = formatReference(imageReference(image));
    const name = (type ?? id).split("@")[0]?.split("/").at(-1) ?? id;
    return { reference, kind: "binary", name };
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    issues.report(at, error.message);
    return undefined;
  }
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
          resolveReference(reference, context.orchestrator, context.referenced),
        warn: (message) => issues.warn(at, message),
      });
    } catch (error) {
      issues.report(at, error instanceof Error ? error.message : String(error));
      return value;
    }
  };
}

/**
 * `command` (a list, or a string split like shell words) and `args` (a list, or one string: a
 * script for `sh -c`).
 */
function buildCommand(
  spec: ComponentSpec,
  path: PathSegment[],
  expand: Expand,
  issues: IssueCollector,
): { command: string[]; args: string[] } {
  let command: string[] = [];
  if (typeof spec.command === "string") {
    try {
      command = splitWords(expand(spec.command, [...path, "command"]));
    } catch (error) {
      issues.report([...path, "command"], `cannot split command: ${(error as Error).message}`);
    }
  } else if (spec.command) {
    command = spec.command.map((word, i) => expand(String(word), [...path, "command", i]));
  }
  const args = typeof spec.args === "string"
    ? [expand(spec.args, [...path, "args"])]
    : (spec.args ?? []).map((word, i) => expand(String(word), [...path, "args", i]));
  return { command, args };
}

/** `config` values as text: numbers as written, booleans as true/false, strings interpolated. */
export function buildConfig(
  config: Readonly<Record<string, ConfigValue | ConfigValue[]>>,
  path: PathSegment[],
  expand: Expand | undefined,
  issues: IssueCollector,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => [
      key,
      Array.isArray(value)
        ? value.map(String).join(",")
        : typeof value === "string"
        ? expand?.(value, [...path, key]) ?? value
        : typeof value === "number"
        ? issues.scalarText([...path, key]) ?? String(value)
        : String(value),
    ]),
  );
}

type ConfigValue = string | number | boolean;

/** `restart` or its Go flowctl spelling `restart_policy`; both must agree. */
function restartPolicy(spec: ComponentSpec, path: PathSegment[], issues: IssueCollector) {
  if (spec.restart && spec.restart_policy && spec.restart !== spec.restart_policy) {
    issues.report(
      [...path, "restart_policy"],
      `restart_policy "${spec.restart_policy}" contradicts restart "${spec.restart}"; keep one`,
      true,
    );
  }
  return spec.restart ?? spec.restart_policy ?? "no";
}

function buildResources(
  spec: ResourcesSpec,
  path: PathSegment[],
  issues: IssueCollector,
): Resources {
  const amounts = (which: "requests" | "limits") => {
    const given = spec[which];
    const out: Resources["limits"] = {};
    if (given?.cpu !== undefined) out.nanoCpus = parseCpu(given.cpu);
    if (given?.memory !== undefined) out.memoryBytes = parseMemory(given.memory);
    return out;
  };
  const resources = { requests: amounts("requests"), limits: amounts("limits") };
  for (const key of ["nanoCpus", "memoryBytes"] as const) {
    const request = resources.requests[key];
    const limit = resources.limits[key];
    if (request !== undefined && limit !== undefined && request > limit) {
      issues.report(
        [...path, "requests", key === "nanoCpus" ? "cpu" : "memory"],
        `the request is larger than the limit (${
          key === "nanoCpus" ? "cpu" : "memory"
        }): a container could never get it`,
      );
    }
  }
  const memory = resources.limits.memoryBytes;
  if (memory !== undefined && memory < 6 * 2 ** 20) {
    issues.report(
      [...path, "limits", "memory"],
      "the memory limit must be at least 6Mi (the engine refuses less)",
    );
  }
  return resources;
}

/**
 * Replicas share a component's ports, so a port fixed on the host would be taken twice: in
 * process mode every port is the process's own, in container mode a published `hostPort`.
 */
function checkReplicaPorts(
  id: string,
  replicas: number,
  path: PathSegment[],
  ports: readonly PortMapping[],
  orchestrator: OrchestratorKind,
  issues: IssueCollector,
): void {
  const fixed = ports.find((port) => orchestrator === "process" || port.hostPort !== undefined);
  if (!fixed) return;
  const hostPort = fixed.hostPort ?? fixed.containerPort;
  issues.report(
    [...path, "replicas"],
    orchestrator === "process"
      ? `component "${id}" has ${replicas} replicas but listens on fixed port ${hostPort}, which processes cannot share: use one replica, or run with --orchestrator container`
      : `component "${id}" has ${replicas} replicas but publishes host port ${hostPort}, which only one container can take: remove its hostPort`,
  );
}
