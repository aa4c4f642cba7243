/**
 * The embedded control plane: one plaintext HTTP/2 server per listen address, serving
 * `flowctl.ControlPlane` and `flowctl.v1.ControlPlaneService` over gRPC and the Connect protocol
 * (so `curl --http2-prior-knowledge` with JSON works too), plus the standard gRPC health and
 * reflection services. Only a component's own processes may register as it or change its record,
 * unless the control plane is opened on purpose.
 */
import * as http2 from "node:http2";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createContextKey,
  createContextValues,
  type HandlerContext,
} from "@connectrpc/connect";
import { connectNodeAdapter, type ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import { getLogger } from "@logtape/logtape";
import {
  ControlPlane,
  file_flowctl_control_plane,
  ServiceStatusSchema,
  ServiceType,
} from "./gen/flowctl/control_plane_pb.ts";
import {
  type ComponentInfo,
  ComponentInfoSchema,
  type ComponentStatusResponse,
  ComponentStatusResponseSchema,
  ComponentType,
  ControlPlaneService,
  file_flowctl_v1_control_plane,
  HealthStatus,
} from "./gen/flowctl/v1/control_plane_pb.ts";
import { file_grpc_health_v1_health } from "./gen/grpc/health/v1/health_pb.ts";
import { file_grpc_reflection_v1_reflection } from "./gen/grpc/reflection/v1/reflection_pb.ts";
import { file_grpc_reflection_v1alpha_reflection } from "./gen/grpc/reflection/v1alpha/reflection_pb.ts";
import { ControlPlanePortError } from "./errors.ts";
import { addHealth } from "./health_service.ts";
import {
  finiteMetrics,
  MAX_MESSAGE_BYTES,
  metricsTooLarge,
  registrationTooLarge,
} from "./limits.ts";
import { addReflection } from "./reflection_service.ts";
import {
  type HealthState,
  type Registration,
  RegistrationLimitError,
  type RegistrationRequest,
  type Registry,
} from "./registry.ts";

const logger = getLogger(["flowctl", "controlplane"]);

/** The TCP peer of a call, and the server's own end of that connection. */
export interface PeerAddress {
  address: string;
  port: number;
  local: { address: string; port: number };
}

/**
 * What a caller claims to be: the ids it sent (registration) or the component of the record it
 * touches (heartbeat, unregister), and its `health_endpoint`. Where the connection alone cannot
 * tell (swarm tasks behind their node's address), identity checks the claim.
 */
export interface PeerClaim {
  ids: readonly string[];
  healthEndpoint?: string | undefined;
}

/** A caller who is no component it could be, and why (said in PERMISSION_DENIED). */
export interface PeerRefusal {
  refused: string;
}

/** The pipeline component a peer belongs to, or undefined (or a refusal) for anyone else. */
export type IdentifyPeer = (
  peer: PeerAddress,
  claim?: PeerClaim,
) => Promise<string | PeerRefusal | undefined>;

export interface ControlPlaneOptions {
  registry: Registry;
  /** Addresses to listen on (loopback, and the pipeline network's gateway in container mode). */
  hosts: string[];
  /** 0 picks a free port. */
  port: number;
  /**
   * Tells which component a caller is. Without it (and without `open`) no one may register.
   * Asked once per connection.
   */
  identifyPeer?: IdentifyPeer;
  /** Anyone may register as any component and change any record (`--open-control-plane`). */
  open?: boolean;
}

export interface ControlPlaneServer extends AsyncDisposable {
  readonly port: number;
  readonly hosts: readonly string[];
  /** Also listens on `host` with the same port (the pipeline network's gateway). */
  listenOn(host: string): Promise<void>;
  close(): Promise<void>;
}

/** Who is calling, as the handlers see it. */
interface Caller {
  address: string;
  /** The component it was identified as (asked lazily, once per connection and claim). */
  component(claim?: PeerClaim): Promise<string | PeerRefusal | undefined>;
}

const callerKey = createContextKey<Caller | undefined>(undefined, { description: "caller" });

/** How long a connection identified as no component keeps that answer. */
const ASK_AGAIN_MS = 500;

/** The services served, for health checks and reflection. */
const FILES = [
  file_flowctl_control_plane,
  file_flowctl_v1_control_plane,
  file_grpc_health_v1_health,
  file_grpc_reflection_v1_reflection,
  file_grpc_reflection_v1alpha_reflection,
];

/**
 * Starts listening on every host of `options.hosts` with the same port.
 * @throws {ControlPlanePortError} when the port is in use.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlaneServer> {
  const handler = connectNodeAdapter({
    routes: (router) => {
      addRoutes(router, options.registry, options.open ?? false);
      addHealth(router, FILES.flatMap((f) => f.services.map((s) => s.typeName)));
      addReflection(router, FILES);
    },
    grpc: true,
    connect: true,
    grpcWeb: false,
    readMaxBytes: MAX_MESSAGE_BYTES,
    fallback: unimplemented,
    contextValues: callerContext(options.identifyPeer),
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

/**
 * The context of each call: who is calling (a component, or nobody), asked once per connection;
 * "nobody" is asked again after a while, as a component may call before flowctl knows its pid or
 * container.
 */
function callerContext(
  identifyPeer: ControlPlaneOptions["identifyPeer"],
): NonNullable<ConnectNodeAdapterOptions["contextValues"]> {
  type Identity = { component: Promise<string | PeerRefusal | undefined>; nobodySince?: number };
  const identities = new WeakMap<object, Map<string, Identity>>();
  return (req) => {
    const socket = req.socket;
    const connection: object = "stream" in req ? req.stream.session ?? socket : socket;
    const peer: PeerAddress = {
      address: socket.remoteAddress ?? "",
      port: socket.remotePort ?? 0,
      local: { address: socket.localAddress ?? "", port: socket.localPort ?? 0 },
    };
    const caller: Caller = {
      address: `${peer.address}:${peer.port}`,
      component: (claim) => {
        const byClaim = identities.get(connection) ?? new Map<string, Identity>();
        identities.set(connection, byClaim);
        const key = claim ? JSON.stringify([claim.ids, claim.healthEndpoint ?? ""]) : "";
        const known = byClaim.get(key);
        if (known && (known.nobodySince ?? Infinity) > Date.now() - ASK_AGAIN_MS) {
          return known.component;
        }
        const identity: Identity = {
          component: (identifyPeer ? identifyPeer(peer, claim) : Promise.resolve(undefined))
            .catch((error) => {
              logger.warn("Cannot identify control plane caller {peer}: {error}", {
                peer: caller.address,
                error: String(error),
              });
              return undefined;
            })
            .then((component) => {
              if (typeof component !== "string") identity.nobodySince = Date.now();
              return component;
            }),
        };
        byClaim.set(key, identity);
        return identity.component;
      },
    };
    return createContextValues().set(callerKey, caller);
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

/**
 * A method no service here has: gRPC callers expect HTTP 200 with grpc-status 12
 * (UNIMPLEMENTED); others get a 404.
 */
const unimplemented: NonNullable<ConnectNodeAdapterOptions["fallback"]> = (req, res) => {
  const path = req.url ?? "";
  const isGrpc = /^application\/grpc/.test(String(req.headers["content-type"] ?? ""));
  if (isGrpc && "stream" in req) {
    req.stream.respond({
      ":status": 200,
      "content-type": "application/grpc",
      "grpc-status": String(Code.Unimplemented),
      "grpc-message": encodeURIComponent(`method "${path}" is not implemented by flowctl`),
    }, { endStream: true });
    return;
  }
  res.writeHead(404);
  res.end();
};

/** The component the caller is, refusing callers that are none (unless the plane is open). */
async function requireComponent(
  context: HandlerContext,
  open: boolean,
  action: string,
  claim?: PeerClaim,
): Promise<string | undefined> {
  if (open) return undefined;
  const caller = context.values.get(callerKey);
  const component = await caller?.component(claim);
  if (typeof component === "object") {
    throw new ConnectError(
      `${action} refused: the caller at "${caller?.address ?? "unknown"}" ${component.refused}`,
      Code.PermissionDenied,
    );
  }
  if (component === undefined) {
    throw new ConnectError(
      `${action} refused: the caller at "${
        caller?.address ?? "unknown"
      }" is no component of this pipeline (neither a process of one nor its container); flowctl run --open-control-plane lets anyone in`,
      Code.PermissionDenied,
    );
  }
  return component;
}

/** Registers `request` for the caller, who must be the component it names (unless open). */
async function registerCaller(
  registry: Registry,
  request: RegistrationRequest,
  context: HandlerContext,
  open: boolean,
): Promise<Registration> {
  const tooLarge = registrationTooLarge(request);
  if (tooLarge) {
    throw new ConnectError(`registration refused: ${tooLarge}`, Code.ResourceExhausted);
  }
  const component = await requireComponent(context, open, "registration", {
    ids: [request.componentId, request.serviceId, request.metadata.component_id, request.infoId]
      .filter((id): id is string => Boolean(id)),
    healthEndpoint: request.healthEndpoint,
  });
  if (component !== undefined) {
    // A component may send any id of its own, but never another component's.
    const claimed = [
      request.componentId,
      request.serviceId,
      request.metadata.component_id,
      request.infoId,
    ]
      .find((id) => id && id !== component && registry.declares(id));
    if (claimed) {
      throw new ConnectError(
        `registration refused: component "${component}" cannot register as component "${claimed}"`,
        Code.PermissionDenied,
      );
    }
  }
  try {
    return registry.register(request, component !== undefined ? { peer: component } : {});
  } catch (error) {
    if (error instanceof RegistrationLimitError) {
      throw new ConnectError(error.message, Code.ResourceExhausted);
    }
    throw error;
  }
}

/** The record of `serviceId`, which only the component it belongs to may change (unless open). */
async function ownRecord(
  registry: Registry,
  serviceId: string,
  context: HandlerContext,
  open: boolean,
  action: string,
): Promise<Registration> {
  const registration = registry.get(serviceId);
  const component = await requireComponent(context, open, action, {
    ids: [registration?.componentId ?? serviceId],
  });
  if (!registration) throw notRegistered(serviceId);
  if (component !== undefined && registration.componentId !== component) {
    throw new ConnectError(
      `${action} of "${serviceId}" refused: it is the record of ${
        registration.componentId ? `component "${registration.componentId}"` : "another caller"
      }, and the caller is component "${component}"`,
      Code.PermissionDenied,
    );
  }
  return registration;
}

function addRoutes(router: ConnectRouter, registry: Registry, open: boolean): void {
  addServiceRoutes(router, registry, open);
  addLegacyRoutes(router, registry, open);
}

/** Records a heartbeat of the caller's own record; metrics that are not finite are dropped. */
async function acceptHeartbeat(
  registry: Registry,
  request: { serviceId: string; metrics: Record<string, number | string>; status?: HealthState },
  context: HandlerContext,
  open: boolean,
): Promise<void> {
  const registration = await ownRecord(registry, request.serviceId, context, open, "heartbeat");
  const metrics = finiteMetrics(request.metrics);
  const tooLarge = metricsTooLarge(metrics);
  if (tooLarge) throw new ConnectError(`heartbeat refused: ${tooLarge}`, Code.ResourceExhausted);
  registry.heartbeat(registration.serviceId, {
    metrics,
    ...(request.status !== undefined ? { status: request.status } : {}),
  });
}

/** `flowctl.v1.ControlPlaneService`, the SDK's service. */
function addServiceRoutes(router: ConnectRouter, registry: Registry, open: boolean): void {
  router.service(ControlPlaneService, {
    async registerComponent(request, context) {
      const info = request.component;
      const registration = await registerCaller(
        registry,
        {
          protocol: "flowctl.v1",
          componentId: request.componentId,
          infoId: info?.id ?? "",
          name: info?.name ?? "",
          description: info?.description ?? "",
          version: info?.version ?? "",
          type: componentTypeName(info?.type ?? ComponentType.UNSPECIFIED),
          endpoint: info?.endpoint ?? "",
          inputEventTypes: info?.inputEventTypes ?? [],
          outputEventTypes: info?.outputEventTypes ?? [],
          metadata: info?.metadata ?? {},
        },
        context,
        open,
      );
      return {
        serviceId: registration.serviceId,
        assignedTopics: info?.outputEventTypes ?? [],
        connectionInfo: connectionInfo(registration),
      };
    },
    async unregisterComponent(request, context) {
      const registration = await ownRecord(
        registry,
        request.serviceId,
        context,
        open,
        "unregistering",
      ).catch((error) => {
        // Unregistering what is gone is done.
        if (error instanceof ConnectError && error.code === Code.NotFound) return undefined;
        throw error;
      });
      if (registration) registry.unregister(registration.serviceId);
      return {};
    },
    async heartbeat(request, context) {
      await acceptHeartbeat(
        registry,
        {
          serviceId: request.serviceId,
          metrics: request.metrics,
          status: healthStateOf(request.status),
        },
        context,
        open,
      );
      return {};
    },
    getComponentStatus(request) {
      const registration = registry.get(request.serviceId);
      if (!registration) throw notRegistered(request.serviceId);
      return statusResponse(registration);
    },
    listComponents(request) {
      return { components: listed(registry, request).map(statusResponse) };
    },
    discoverComponents(request) {
      return { components: discovered(registry, request).map(componentInfo) };
    },
  });
}

/** The registrations ListComponents answers with. */
function listed(
  registry: Registry,
  request: { typeFilter: ComponentType; includeUnhealthy: boolean },
): Registration[] {
  return registry.list()
    .filter((r) =>
      request.typeFilter === ComponentType.UNSPECIFIED ||
      componentTypeOf(r) === request.typeFilter
    )
    .filter((r) => request.includeUnhealthy || registry.isHealthy(r));
}

/** The registrations DiscoverComponents answers with. */
function discovered(
  registry: Registry,
  request: {
    type: ComponentType;
    eventTypes: string[];
    metadataFilters: Record<string, string>;
  },
): Registration[] {
  return registry.list()
    .filter((r) =>
      request.type === ComponentType.UNSPECIFIED || componentTypeOf(r) === request.type
    )
    .filter((r) =>
      request.eventTypes.length === 0 ||
      request.eventTypes.some((t) => r.request.outputEventTypes.includes(t))
    )
    .filter((r) =>
      Object.entries(request.metadataFilters).every(([k, v]) => r.request.metadata[k] === v)
    );
}

/** `flowctl.ControlPlane`, the service older components call. */
function addLegacyRoutes(router: ConnectRouter, registry: Registry, open: boolean): void {
  router.service(ControlPlane, {
    async register(request, context) {
      const registration = await registerCaller(
        registry,
        {
          protocol: "flowctl",
          componentId: request.componentId,
          serviceId: request.serviceId,
          healthEndpoint: request.healthEndpoint,
          type: serviceTypeName(request.serviceType),
          inputEventTypes: request.inputEventTypes,
          outputEventTypes: request.outputEventTypes,
          metadata: request.metadata,
        },
        context,
        open,
      );
      return {
        serviceId: registration.serviceId,
        topicNames: request.outputEventTypes,
        connectionInfo: connectionInfo(registration),
      };
    },
    async heartbeat(request, context) {
      await acceptHeartbeat(
        registry,
        { serviceId: request.serviceId, metrics: request.metrics },
        context,
        open,
      );
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
    description: request.description ?? "",
    version: request.version ?? "",
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
