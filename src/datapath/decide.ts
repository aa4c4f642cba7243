/**
 * Whether the data path drives a component, pure: from its flowctl.v1 registration (type and
 * endpoint) and the services its gRPC reflection lists, or from `data_path` in the file.
 */
import type { DataPathRole, PlannedComponent } from "./plan.ts";

/** The v1 service a component of each role serves. */
export const SERVICE_OF: Record<DataPathRole, string> = {
  source: "flowctl.v1.SourceService",
  processor: "flowctl.v1.ProcessorService",
  sink: "flowctl.v1.ConsumerService",
};

/** flowctl.v1 ComponentType names of each role. */
const TYPE_OF: Record<DataPathRole, string> = {
  source: "source",
  processor: "processor",
  sink: "sink",
};

/** What the control plane knows of a component (ListComponents). */
export interface SeenRegistration {
  /** "source" | "processor" | "sink" | "unspecified" */
  type: string;
  endpoint: string;
}

export type Decision = { driven: true; reason: string } | { driven: false; reason: string };

/**
 * Decides one component. `services` is what reflection listed at its endpoint, or an error
 * text when reflection failed; undefined when it was not asked (no usable registration).
 */
export function decideComponent(
  component: PlannedComponent,
  registration: SeenRegistration | undefined,
  services: readonly string[] | string | undefined,
): Decision {
  const service = SERVICE_OF[component.role];
  if (component.forced === "driven") {
    return { driven: true, reason: `data_path: driven on "${component.id}"` };
  }
  const unusable = unusableRegistration(component, registration);
  if (unusable || !registration) return unusable ?? { driven: false, reason: "" };
  if (typeof services === "string" || services === undefined) {
    return {
      driven: false,
      reason: `"${component.id}" answered no gRPC reflection at ${registration.endpoint}${
        services ? ` (${services})` : ""
      }`,
    };
  }
  if (!services.includes(service)) {
    return {
      driven: false,
      reason: `"${component.id}" does not serve ${service} at ${registration.endpoint}`,
    };
  }
  return {
    driven: true,
    reason:
      `"${component.id}" registered as a v1 ${component.role} at ${registration.endpoint} and serves ${service}`,
  };
}

/**
 * Why `registration` cannot make `component` driven (none, another type, no endpoint), or
 * undefined when it can, subject to reflection.
 */
export function unusableRegistration(
  component: PlannedComponent,
  registration: SeenRegistration | undefined,
): Decision | undefined {
  if (!registration) return { driven: false, reason: `"${component.id}" did not register` };
  if (registration.type !== TYPE_OF[component.role]) {
    return {
      driven: false,
      reason: `"${component.id}" registered as ${registration.type}, not as a ${component.role}`,
    };
  }
  if (!registration.endpoint) {
    return { driven: false, reason: `"${component.id}" registered no endpoint` };
  }
  return undefined;
}

/** An edge is driven when both of its ends are. */
export function decideEdge(from: Decision, to: Decision): Decision {
  if (!from.driven) return from;
  if (!to.driven) return to;
  return { driven: true, reason: `${from.reason}; ${to.reason}` };
}

/**
 * Where flowctl's host reaches a component, as the runner writes it to the data path's hosts
 * file: its container's address (container mode), or its swarm task's published ports and, on
 * flowctl's own machine, its bridge address.
 */
export interface Reach {
  /** Where any port of it is dialled. */
  host?: string | undefined;
  /** "host:port" by container port: the ports its node publishes. */
  published?: Record<string, string> | undefined;
  /** Where it runs, for messages: `node "worker-1" (10.0.0.2)`. */
  where?: string | undefined;
}

/**
 * Where to dial a registered endpoint: the SDK registers its raw listen string, often ":55472"
 * or "0.0.0.0:55472", which means the component's own host: the port as `reach` publishes it, at
 * `reach.host`, or at `fallback`. Undefined when flowctl's host cannot reach that port (yet).
 */
export function dialAddress(
  endpoint: string,
  reach: Reach | undefined,
  fallback: string,
): string | undefined {
  const at = endpoint.lastIndexOf(":");
  const name = at < 0 ? "" : endpoint.slice(0, at);
  const port = endpoint.slice(at + 1);
  if (name !== "" && name !== "0.0.0.0" && name !== "[::]" && name !== "::") return endpoint;
  const published = reach?.published?.[port];
  if (published) return published;
  const host = reach ? reach.host : fallback || undefined;
  return host ? `${host}:${port}` : undefined;
}

/** Why a registered endpoint that dialAddress() cannot reach counts as direct. */
export function unreachableReason(id: string, endpoint: string, reach: Reach | undefined): string {
  const port = endpoint.slice(endpoint.lastIndexOf(":") + 1);
  if (!reach) return `"${id}" registered ${endpoint}, but flowctl does not know where it runs`;
  return `"${id}" registered ${endpoint}, a port of its task on ${
    reach.where ?? "another node"
  } that flowctl's host cannot reach: name it as its data port (a port named "grpc", or PORT or GRPC_PORT in its env), which flowctl then publishes, or publish it yourself (a "ports" entry with containerPort ${port} and a hostPort)`;
}
