/** The validated, interpolated pipeline model that orchestrators and the runner work from. */
import type { ImageExecutable } from "../registry/component_image.ts";

export type { ImageExecutable };

/** The orchestrators flowctl runs pipelines with. */
export const ORCHESTRATOR_KINDS = ["process", "container", "swarm"] as const;
export type OrchestratorKind = typeof ORCHESTRATOR_KINDS[number];
/**
 * `pipeline`: a whole pipeline in one component (spec.pipelines); it runs like a sink.
 * `data-path`: flowctl's own data path process (src/datapath), never written in a file.
 */
export type ComponentKind = "source" | "processor" | "sink" | "pipeline" | "data-path";
export type RestartPolicy = "no" | "on-failure" | "always";
export type PullPolicy = "missing" | "always" | "never";

export interface PortMapping {
  name: string;
  containerPort: number;
  /** Port published on the host; in process mode it is the port the process listens on. */
  hostPort?: number;
  hostIp: string;
}

export type HealthProbe =
  | { type: "http"; path: string; port: number }
  | { type: "tcp"; port: number }
  | { type: "registered" }
  /** A command (argv) run beside the component; exit code 0 is healthy. */
  | { type: "exec"; command: string[] };

export interface HealthCheck {
  probe: HealthProbe;
  intervalMs: number;
  /**
   * The longest pause between probes while the component starts (`start_interval`, else
   * `interval`): probing begins at once and backs off from 2 ms up to it.
   */
  startIntervalMs: number;
  timeoutMs: number;
  /** Consecutive failed probes before a running component counts as unhealthy. */
  retries: number;
  /** How long startup may take before not being healthy is a failure. */
  startPeriodMs: number;
  /** Consecutive failed probes of a running component after which it is restarted (liveness). */
  restartAfter?: number;
}

/** A bind mount of a host path, or a named engine volume (container mode only). */
export type VolumeMount =
  | { type: "bind"; hostPath: string; containerPath: string; readonly: boolean }
  | { type: "volume"; name: string; containerPath: string; readonly: boolean };

/** Where a secret is mounted in a container when its `container_path` is not given. */
export const DEFAULT_SECRET_DIR = "/run/secrets";

/**
 * A file on the host handed to the component by path: mounted read-only at `containerPath`
 * (container and swarm modes), its path in the variable `env`. flowctl never reads its content.
 */
export interface SecretFile {
  name: string;
  hostPath?: string;
  /** `container_path`, or `DEFAULT_SECRET_DIR/<name>`: resolved here once for every mode. */
  containerPath: string;
  env?: string;
  /** File mode asked for; informational, the engine mounts the host file as it is. */
  mode?: number;
  type?: string;
  required: boolean;
  labels: Record<string, string>;
}

/** CPU in nano-CPUs (1e9 = one CPU) and memory in bytes, as the Engine API counts them. */
export interface ResourceAmounts {
  nanoCpus?: number;
  memoryBytes?: number;
}

export interface Resources {
  requests: ResourceAmounts;
  limits: ResourceAmounts;
}

/**
 * When a dependent may start: `started` once the dependency runs, `healthy` once it passed its
 * health check (or runs, without one), `completed_successfully` once it exited with code 0.
 */
export type DependencyCondition = "started" | "healthy" | "completed_successfully";

/**
 * An ordering edge from `depends_on`: start once `id` meets `condition`. The list form means
 * "healthy", as `inputs` do.
 */
export interface Dependency {
  id: string;
  condition: DependencyCondition;
}

export interface Component {
  id: string;
  kind: ComponentKind;
  /** The `type` as written: a kind (`source`) or a registry reference (`name@version`). */
  type?: string;
  inputs: string[];
  /** `depends_on`: ordering only, like inputs, but not a data edge (no event type check). */
  dependsOn: Dependency[];
  /** argv for process mode (`command` followed by `args`); empty when not given. */
  argv: string[];
  /** `command` and `args` apart: the container's entrypoint and CMD in container mode. */
  command: string[];
  args: string[];
  /** `config` values as text; they become environment variables (see config_env.ts). */
  config: Record<string, string>;
  /** Process mode without `command`: run an executable of this image; `argv` holds `args`. */
  fromImage?: ImageExecutable;
  inputEventTypes: string[];
  outputEventTypes: string[];
  volumes: VolumeMount[];
  secrets: SecretFile[];
  resources?: Resources;
  /** Instances of the component; they share its id, alias and log. */
  replicas: number;
  /** Absolute working directory for process mode. */
  workingDir: string;
  image?: string;
  pullPolicy: PullPolicy;
  env: Record<string, string>;
  ports: PortMapping[];
  health?: HealthCheck;
  restart: RestartPolicy;
  maxRestarts: number;
  stopGraceMs: number;
  privileged: boolean;
  networkMode: "bridge" | "host";
  /** Swarm mode: placement constraints of its service, as Docker writes them. */
  placementConstraints: string[];
  /** Swarm mode: how other services reach it; dnsrr unless the file asks for vip. */
  endpointMode: "dnsrr" | "vip";
  /**
   * `data_path`: `driven` when flowctl's data path calls this flowctl-sdk v1 server, `direct`
   * when the components move their data themselves; unset, decided at run time (src/datapath).
   */
  dataPath?: "driven" | "direct";
}

export interface Pipeline {
  name: string;
  namespace?: string;
  description?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** `spec.config` values as text. */
  config: Record<string, string>;
  /**
   * `spec.driver` when it names another tool's orchestrator (kubernetes, nomad) and no
   * --orchestrator was given; the file was checked as for containers.
   */
  foreignDriver?: string;
  /** Absolute path of the pipeline file, or "-" for standard input. */
  file: string;
  /** Folder that relative paths resolve against. */
  dir: string;
  orchestrator: OrchestratorKind;
  /** Components in file order: sources, processors, sinks. */
  components: Component[];
  /** Component ids grouped by start order. */
  levels: string[][];
  /** Absolute paths of the `env_file`s read, for `run --watch`. */
  envFiles: string[];
}

export const DEFAULT_HEALTH_TIMINGS = {
  intervalMs: 1000,
  startIntervalMs: 1000,
  timeoutMs: 2000,
  retries: 3,
  startPeriodMs: 60_000,
} as const;

export const DEFAULT_STOP_GRACE_MS = 10_000;
export const DEFAULT_MAX_RESTARTS = 5;
