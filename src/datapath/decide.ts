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
 * Where to dial a registered endpoint: the SDK registers its raw listen string, often ":55472"
 * or "0.0.0.0:55472", which means the component's own host.
 */
export function dialAddress(endpoint: string, host: string): string {
  const at = endpoint.lastIndexOf(":");
  if (at < 0) return `${host}:${endpoint}`;
  const name = endpoint.slice(0, at);
  const port = endpoint.slice(at + 1);
  if (name === "" || name === "0.0.0.0" || name === "[::]" || name === "::") {
    return `${host}:${port}`;
  }
  return endpoint;
}
