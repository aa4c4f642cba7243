/**
 * The embedded control plane: one plaintext HTTP/2 server per listen address, serving
 * `flowctl.ControlPlane` and `flowctl.v1.ControlPlaneService` over gRPC and the Connect protocol
 * (so `curl --http2-prior-knowledge` with JSON works too).
 */
import * as http2 from "node:http2";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { getLogger } from "@logtape/logtape";
import { ControlPlane, ServiceStatusSchema, ServiceType } from "./gen/flowctl/control_plane_pb.ts";
import {
  type ComponentInfo,
  ComponentInfoSchema,
  type ComponentStatusResponse,
  ComponentStatusResponseSchema,
  ComponentType,
  ControlPlaneService,
  HealthStatus,
} from "./gen/flowctl/v1/control_plane_pb.ts";
import { ControlPlanePortError } from "./errors.ts";
import type { HealthState, Registration, Registry } from "./registry.ts";

const logger = getLogger(["flowctl", "controlplane"]);

export interface ControlPlaneOptions {
  registry: Registry;
  /** Addresses to listen on (loopback, and the pipeline network's gateway in container mode). */
  hosts: string[];
  /** 0 picks a free port. */
  port: number;
}

export interface ControlPlaneServer extends AsyncDisposable {
  readonly port: number;
  readonly hosts: readonly string[];
  /** Also listens on `host` with the same port (the pipeline network's gateway). */
  listenOn(host: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts listening on every host of `options.hosts` with the same port.
 * @throws {ControlPlanePortError} when the port is in use.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlaneServer> {
  const handler = connectNodeAdapter({
    routes: (router) => addRoutes(router, options.registry),
    grpc: true,
    connect: true,
    grpcWeb: false,
  });
  const servers: http2.Http2Server[] = [];
  const sessions = new Set<http2.ServerHttp2Session>();
  const hosts: string[] = [];
  let port = options.port;
  const close = async () => {
    for (const session of sessions) session.destroy();
    await Promise.all(
      servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
    servers.length = 0;
  };
  const listenOn = async (host: string) => {
    const server = http2.createServer(handler);
    server.on("session", (session: http2.ServerHttp2Session) => {
      sessions.add(session);
      session.on("close", () => sessions.delete(session));
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      throw portError(error, port);
    }
    servers.push(server);
    hosts.push(host);
    const address = server.address();
    if (port === 0 && address && typeof address === "object") port = address.port;
    logger.debug("Control plane listening on {host} port {port}", { host, port });
  };
  try {
    for (const host of options.hosts) await listenOn(host);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    get port() {
      return port;
    },
    hosts,
    listenOn,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function portError(error: unknown, port: number): unknown {
  const inUse = error instanceof Error &&
    /EADDRINUSE|in use/i.test(`${(error as { code?: string }).code} ${error.message}`);
  if (!inUse) return error;
  return new ControlPlanePortError(
    `Cannot start the control plane: port ${port} is already in use (is another pipeline running?); pass --control-plane-port 0 to pick a free port`,
    { cause: error },
  );
}

function addRoutes(router: ConnectRouter, registry: Registry): void {
  router.service(ControlPlaneService, {
    registerComponent(request) {
      const info = request.component;
      const registration = registry.register({
        protocol: "flowctl.v1",
        componentId: request.componentId,
        infoId: info?.id ?? "",
        name: info?.name ?? "",
        type: componentTypeName(info?.type ?? ComponentType.UNSPECIFIED),
        endpoint: info?.endpoint ?? "",
        inputEventTypes: info?.inputEventTypes ?? [],
        outputEventTypes: info?.outputEventTypes ?? [],
        metadata: info?.metadata ?? {},
      });
      return {
        serviceId: registration.serviceId,
        assignedTopics: info?.outputEventTypes ?? [],
        connectionInfo: connectionInfo(registration),
      };
    },
    unregisterComponent(request) {
      registry.unregister(request.serviceId);
      return {};
    },
    heartbeat(request) {
      const registration = registry.heartbeat(request.serviceId, {
        status: healthStateOf(request.status),
        metrics: request.metrics,
      });
      if (!registration) throw notRegistered(request.serviceId);
      return {};
    },
    getComponentStatus(request) {
      const registration = registry.get(request.serviceId);
      if (!registration) throw notRegistered(request.serviceId);
      return statusResponse(registration);
    },
    listComponents(request) {
      return {
        components: registry.list()
          .filter((r) =>
            request.typeFilter === ComponentType.UNSPECIFIED ||
            componentTypeOf(r) === request.typeFilter
          )
          .filter((r) => request.includeUnhealthy || registry.isHealthy(r))
          .map(statusResponse),
      };
    },
    discoverComponents(request) {
      return {
        components: registry.list()
          .filter((r) =>
            request.type === ComponentType.UNSPECIFIED || componentTypeOf(r) === request.type
          )
          .filter((r) =>
            request.eventTypes.length === 0 ||
            request.eventTypes.some((t) => r.request.outputEventTypes.includes(t))
          )
          .filter((r) =>
            Object.entries(request.metadataFilters).every(([k, v]) => r.request.metadata[k] === v)
          )
          .map(componentInfo),
      };
    },
  });

  router.service(ControlPlane, {
    register(request) {
      const registration = registry.register({
        protocol: "flowctl",
        componentId: request.componentId,
        serviceId: request.serviceId,
        healthEndpoint: request.healthEndpoint,
        type: serviceTypeName(request.serviceType),
        inputEventTypes: request.inputEventTypes,
        outputEventTypes: request.outputEventTypes,
        metadata: request.metadata,
      });
      return {
        serviceId: registration.serviceId,
        topicNames: request.outputEventTypes,
        connectionInfo: connectionInfo(registration),
      };
    },
    heartbeat(request) {
      const metrics = Object.fromEntries(
        Object.entries(request.metrics).map(([k, v]) => [k, String(v)]),
      );
      const registration = registry.heartbeat(request.serviceId, { metrics });
      if (!registration) throw notRegistered(request.serviceId);
      return {};
    },
    getServiceStatus(request) {
      const registration = registry.get(request.serviceId) ??
        (request.componentId ? registry.forComponent(request.componentId) : undefined);
      if (!registration) throw notRegistered(request.serviceId || request.componentId);
      return serviceStatus(registration, registry);
    },
    listServices() {
      return { services: registry.list().map((r) => serviceStatus(r, registry)) };
    },
  });
}

function notRegistered(serviceId: string): ConnectError {
  return new ConnectError(
    `service "${serviceId}" is not registered in this run; register first`,
    Code.NotFound,
  );
}

/** What flowctl tells a component about itself; only values true for this run. */
function connectionInfo(registration: Registration): Record<string, string> {
  return {
    service_id: registration.serviceId,
    ...(registration.componentId ? { component_id: registration.componentId } : {}),
    ...(registration.request.endpoint ? { endpoint: registration.request.endpoint } : {}),
  };
}

function statusResponse(registration: Registration): ComponentStatusResponse {
  return create(ComponentStatusResponseSchema, {
    component: componentInfo(registration),
    status: healthStatusOf(registration),
    lastHeartbeat: timestampFromMs(registration.lastHeartbeat),
    metrics: registration.metrics,
    registeredAt: timestampFromMs(registration.registeredAt),
  });
}

function componentInfo(registration: Registration): ComponentInfo {
  const { request } = registration;
  return create(ComponentInfoSchema, {
    id: registration.componentId ?? registration.serviceId,
    name: request.name || registration.componentId || registration.serviceId,
    type: componentTypeOf(registration),
    inputEventTypes: request.inputEventTypes,
    outputEventTypes: request.outputEventTypes,
    endpoint: request.endpoint ?? "",
    metadata: request.metadata,
  });
}

function serviceStatus(registration: Registration, registry: Registry) {
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

function healthStateOf(status: HealthStatus): HealthState {
  return HEALTH_STATES[status] ?? "unknown";
}

function healthStatusOf(registration: Registration): HealthStatus {
  if (registration.stale) return HealthStatus.UNHEALTHY;
  const entry = Object.entries(HEALTH_STATES).find(([, state]) => state === registration.status);
  return entry ? Number(entry[0]) as HealthStatus : HealthStatus.UNKNOWN;
}

function componentTypeName(type: ComponentType): string {
  return {
    [ComponentType.SOURCE]: "source",
    [ComponentType.PROCESSOR]: "processor",
    [ComponentType.CONSUMER]: "sink",
    [ComponentType.UNSPECIFIED]: "unspecified",
  }[type] ?? "unspecified";
}

function serviceTypeName(type: ServiceType): string {
  return {
    [ServiceType.SOURCE]: "source",
    [ServiceType.PROCESSOR]: "processor",
    [ServiceType.SINK]: "sink",
    [ServiceType.PIPELINE]: "pipeline",
    [ServiceType.UNSPECIFIED]: "unspecified",
  }[type] ?? "unspecified";
}

function componentTypeOf(registration: Registration): ComponentType {
  const type = registration.request.type;
  return type === "source"
    ? ComponentType.SOURCE
    : type === "processor"
    ? ComponentType.PROCESSOR
    : type === "sink"
    ? ComponentType.CONSUMER
    : ComponentType.UNSPECIFIED;
}

function serviceTypeOf(type: string): ServiceType {
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
