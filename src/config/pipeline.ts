/** The validated, interpolated pipeline model that orchestrators and the runner work from. */

export type OrchestratorKind = "process" | "container" | "swarm";
export type ComponentKind = "source" | "processor" | "sink";
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
  | { type: "registered" };

export interface HealthCheck {
  probe: HealthProbe;
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive failed probes before a running component counts as unhealthy. */
  retries: number;
  /** How long startup may take before not being healthy is a failure. */
  startPeriodMs: number;
}

export interface Component {
  id: string;
  kind: ComponentKind;
  inputs: string[];
  /** argv for process mode (`command` followed by `args`); empty when not given. */
  argv: string[];
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
}

export interface Pipeline {
  name: string;
  /** Absolute path of the pipeline file, or "-" for standard input. */
  file: string;
  /** Folder that relative paths resolve against. */
  dir: string;
  orchestrator: OrchestratorKind;
  /** Components in file order: sources, processors, sinks. */
  components: Component[];
  /** Component ids grouped by start order. */
  levels: string[][];
}

export const DEFAULT_HEALTH_TIMINGS = {
  intervalMs: 1000,
  timeoutMs: 2000,
  retries: 3,
  startPeriodMs: 60_000,
} as const;

export const DEFAULT_STOP_GRACE_MS = 10_000;
export const DEFAULT_MAX_RESTARTS = 5;
