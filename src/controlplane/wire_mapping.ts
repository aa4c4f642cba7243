/** Registrations as both services' messages carry them, and the enums of either wire. */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ServiceStatusSchema, ServiceType } from "./gen/flowctl/control_plane_pb.ts";
import {
  type ComponentInfo,
  ComponentInfoSchema,
  type ComponentStatusResponse,
  ComponentStatusResponseSchema,
  ComponentType,
  HealthStatus,
} from "./gen/flowctl/v1/control_plane_pb.ts";
import type { HealthState, Registration, Registry } from "./registry.ts";

/** What flowctl tells a component about itself; only values true for this run. */
export function connectionInfo(registration: Registration): Record<string, string> {
  return {
    service_id: registration.serviceId,
    ...(registration.componentId ? { component_id: registration.componentId } : {}),
    ...(registration.request.endpoint ? { endpoint: registration.request.endpoint } : {}),
  };
}

export function statusResponse(registration: Registration): ComponentStatusResponse {
  return create(ComponentStatusResponseSchema, {
    component: componentInfo(registration),
    status: healthStatusOf(registration),
    lastHeartbeat: timestampFromMs(registration.lastHeartbeat),
    metrics: registration.metrics,
    registeredAt: timestampFromMs(registration.registeredAt),
  });
}

export function componentInfo(registration: Registration): ComponentInfo {
  const { request } = registration;
  return create(ComponentInfoSchema, {
    id: registration.componentId ?? registration.serviceId,
    name: request.name || registration.componentId || registration.serviceId,
    type: componentTypeOf(registration),
    inputEventTypes: request.inputEventTypes,
    outputEventTypes: request.outputEventTypes,
    description: request.description ?? "",
    version: request.version ?? "",
    endpoint: request.endpoint ?? "",
    metadata: request.metadata,
  });
}

export function serviceStatus(registration: Registration, registry: Registry) {
  const metrics: Record<string, number> = {};
  for (const [key, value] of Object.entries(registration.metrics)) {
    const number = Number(value);
    if (Number.isFinite(number)) metrics[key] = number;
  }
  return create(ServiceStatusSchema, {
    serviceId: registration.serviceId,
    serviceType: serviceTypeOf(registration.request.type),
    isHealthy: registry.isHealthy(registration),
    lastHeartbeat: timestampFromMs(registration.lastHeartbeat),
    metrics,
    componentId: registration.componentId ?? "",
  });
}

const HEALTH_STATES: Record<HealthStatus, HealthState> = {
  [HealthStatus.UNKNOWN]: "unknown",
  [HealthStatus.STARTING]: "starting",
  [HealthStatus.HEALTHY]: "healthy",
  [HealthStatus.DEGRADED]: "degraded",
  [HealthStatus.UNHEALTHY]: "unhealthy",
  [HealthStatus.STOPPING]: "stopping",
};

export function healthStateOf(status: HealthStatus): HealthState {
  return HEALTH_STATES[status] ?? "unknown";
}

export function healthStatusOf(registration: Registration): HealthStatus {
  if (registration.stale) return HealthStatus.UNHEALTHY;
  const entry = Object.entries(HEALTH_STATES).find(([, state]) => state === registration.status);
  return entry ? Number(entry[0]) as HealthStatus : HealthStatus.UNKNOWN;
}

export function componentTypeName(type: ComponentType): string {
  return {
    [ComponentType.SOURCE]: "source",
    [ComponentType.PROCESSOR]: "processor",
    [ComponentType.CONSUMER]: "sink",
    [ComponentType.UNSPECIFIED]: "unspecified",
  }[type] ?? "unspecified";
}

export function serviceTypeName(type: ServiceType): string {
  return {
    [ServiceType.SOURCE]: "source",
    [ServiceType.PROCESSOR]: "processor",
    [ServiceType.SINK]: "sink",
    [ServiceType.PIPELINE]: "pipeline",
    [ServiceType.UNSPECIFIED]: "unspecified",
  }[type] ?? "unspecified";
}

export function componentTypeOf(registration: Registration): ComponentType {
  const type = registration.request.type;
  return type === "source"
    ? ComponentType.SOURCE
    : type === "processor"
    ? ComponentType.PROCESSOR
    : type === "sink"
    ? ComponentType.CONSUMER
    : ComponentType.UNSPECIFIED;
}

export function serviceTypeOf(type: string): ServiceType {
  return type === "source"
    ? ServiceType.SOURCE
    : type === "processor"
    ? ServiceType.PROCESSOR
    : type === "sink"
    ? ServiceType.SINK
    : type === "pipeline"
    ? ServiceType.PIPELINE
    : ServiceType.UNSPECIFIED;
}
