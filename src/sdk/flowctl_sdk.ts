/**
 * A small flowctl SDK for TypeScript components (Deno and Node): registers with the control
 * plane through `flowctl.v1.ControlPlaneService`, heartbeats at `FLOWCTL_HEARTBEAT_INTERVAL`,
 * and unregisters on `stop()`. Does nothing unless `ENABLE_FLOWCTL=true`.
 */
import { create } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { parseDuration } from "../config/duration.ts";
import {
  ComponentInfoSchema,
  ComponentType,
  ControlPlaneService,
  HealthStatus,
} from "../controlplane/gen/flowctl/v1/control_plane_pb.ts";

export { ComponentType, HealthStatus };

export interface SdkOptions {
  type: ComponentType;
  name?: string;
  description?: string;
  version?: string;
  inputEventTypes?: string[];
  outputEventTypes?: string[];
  /** Where this component serves its data (host:port). */
  endpoint?: string;
  metadata?: Record<string, string>;
  /** Current health, sent with every heartbeat (HEALTHY by default). */
  status?: () => HealthStatus;
  /** Current metrics, sent with every heartbeat. */
  metrics?: () => Record<string, string>;
  /** Defaults to the process environment. */
  env?: Record<string, string | undefined>;
  /** Reports problems (registration retries); defaults to console.error. */
  log?: (message: string) => void;
}

export interface FlowctlSession {
  /** The service id the control plane assigned; empty when flowctl is not enabled. */
  readonly serviceId: string;
  /** Stops heartbeats and unregisters. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Registers with the control plane named by `FLOWCTL_ENDPOINT` (retrying until it answers or
 * `stop()` is called) and starts heartbeats.
 */
export async function startFlowctl(options: SdkOptions): Promise<FlowctlSession> {
  const env = options.env ?? readEnv();
  const log = options.log ?? ((message: string) => console.error(message));
  if (env.ENABLE_FLOWCTL !== "true" || !env.FLOWCTL_ENDPOINT) {
    return { serviceId: "", stop: () => Promise.resolve() };
  }
  const componentId = env.FLOWCTL_COMPONENT_ID ?? env.COMPONENT_ID ?? "";
  const intervalMs = parseHeartbeatInterval(env.FLOWCTL_HEARTBEAT_INTERVAL);
  const transport = createGrpcTransport({ baseUrl: `http://${env.FLOWCTL_ENDPOINT}` });
  const client: Client<typeof ControlPlaneService> = createClient(ControlPlaneService, transport);
  const stopped = new AbortController();

  let serviceId = "";
  for (let attempt = 0; !stopped.signal.aborted; attempt++) {
    try {
      const response = await client.registerComponent({
        componentId,
        component: create(ComponentInfoSchema, {
          id: componentId,
          name: options.name ?? componentId,
          description: options.description ?? "",
          version: options.version ?? "",
          type: options.type,
          inputEventTypes: options.inputEventTypes ?? [],
          outputEventTypes: options.outputEventTypes ?? [],
          endpoint: options.endpoint ?? "",
          metadata: { component_id: componentId, ...options.metadata },
        }),
      }, { timeoutMs: 5_000 });
      serviceId = response.serviceId;
      break;
    } catch (error) {
      if (attempt === 0) log(`flowctl: registration failed, retrying: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 5_000)));
    }
  }

  const beat = async () => {
    try {
      await client.heartbeat({
        serviceId,
        status: options.status?.() ?? HealthStatus.HEALTHY,
        metrics: options.metrics?.() ?? {},
      }, { timeoutMs: 5_000 });
    } catch (error) {
      log(`flowctl: heartbeat failed: ${(error as Error).message}`);
    }
  };
  const timer = setInterval(beat, intervalMs);
  let stopping: Promise<void> | undefined;
  return {
    serviceId,
    stop() {
      stopping ??= (async () => {
        stopped.abort();
        clearInterval(timer);
        if (!serviceId) return;
        await client.unregisterComponent({ serviceId }, { timeoutMs: 2_000 }).catch(() => {});
      })();
      return stopping;
    },
  };
}

/** Go duration strings (`10s`, `500ms`, `1m30s`); 10 s when unset or invalid. */
export function parseHeartbeatInterval(text: string | undefined): number {
  if (!text) return 10_000;
  try {
    return Math.max(parseDuration(text), 10);
  } catch {
    return 10_000;
  }
}

function readEnv(): Record<string, string | undefined> {
  const names = [
    "ENABLE_FLOWCTL",
    "FLOWCTL_ENDPOINT",
    "FLOWCTL_COMPONENT_ID",
    "COMPONENT_ID",
    "FLOWCTL_HEARTBEAT_INTERVAL",
  ];
  const g = globalThis as {
    Deno?: { env: { get(name: string): string | undefined } };
    process?: { env: Record<string, string | undefined> };
  };
  const get = (name: string) => g.Deno ? g.Deno.env.get(name) : g.process?.env[name];
  return Object.fromEntries(names.map((name) => [name, get(name)]));
}
