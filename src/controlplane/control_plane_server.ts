/**
 * The embedded control plane: one plaintext HTTP/2 server per listen address, serving
 * `flowctl.ControlPlane` and `flowctl.v1.ControlPlaneService` over gRPC and the Connect protocol
 * (so `curl --http2-prior-knowledge` with JSON works too), plus the standard gRPC health and
 * reflection services. Only a component's own processes may register as it or change its record,
 * unless the control plane is opened on purpose.
 */
import * as http2 from "node:http2";
import type * as net from "node:net";
import { Code, createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter, type ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import { getLogger } from "@logtape/logtape";
import { type Caller, callerKey, type RegistrySync } from "./caller.ts";
import { file_flowctl_control_plane } from "./gen/flowctl/control_plane_pb.ts";
import { file_flowctl_v1_control_plane } from "./gen/flowctl/v1/control_plane_pb.ts";
import { file_grpc_health_v1_health } from "./gen/grpc/health/v1/health_pb.ts";
import { file_grpc_reflection_v1_reflection } from "./gen/grpc/reflection/v1/reflection_pb.ts";
import { file_grpc_reflection_v1alpha_reflection } from "./gen/grpc/reflection/v1alpha/reflection_pb.ts";
import { ControlPlanePortError } from "./errors.ts";
import { encodeGrpcMessage, readableGrpcMessages } from "./grpc_message.ts";
import { addHealth } from "./health_service.ts";
import { withHeartbeatFastPath } from "./heartbeat_fast_path.ts";
import { addLegacyRoutes } from "./legacy_routes.ts";
import { MAX_MESSAGE_BYTES } from "./limits.ts";
import type { IdentifyPeer, PeerAddress, PeerRefusal } from "./peer.ts";
import { addReflection } from "./reflection_service.ts";
import type { Registry } from "./registry.ts";
import { addServiceRoutes } from "./v1_routes.ts";

const logger = getLogger(["flowctl", "controlplane"]);

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
  sync?: RegistrySync;
}

export interface ControlPlaneServer extends AsyncDisposable {
  readonly port: number;
  readonly hosts: readonly string[];
  /** Also listens on `host` with the same port (the pipeline network's gateway). */
  listenOn(host: string): Promise<void>;
  close(): Promise<void>;
}

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
  const plane = { registry: options.registry, open: options.open ?? false, sync: options.sync };
  const contextValues = callerContext(options.identifyPeer);
  const connect = connectNodeAdapter({
    routes: (router) => {
      addServiceRoutes(router, plane);
      addLegacyRoutes(router, plane);
      addHealth(router, FILES.flatMap((f) => f.services.map((s) => s.typeName)));
      addReflection(router, FILES);
    },
    grpc: true,
    connect: true,
    grpcWeb: false,
    readMaxBytes: MAX_MESSAGE_BYTES,
    fallback: unimplemented,
    contextValues,
  });
  const handler = readableGrpcMessages(withHeartbeatFastPath(connect, plane, contextValues));
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
        // SO_REUSEPORT: flowctl holds the port while this process starts (port_holder.ts).
        const listenOptions: net.ListenOptions & { reusePort: boolean } = {
          port,
          host,
          reusePort: true,
        };
        server.listen(listenOptions, () => {
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
      "grpc-message": encodeGrpcMessage(`method "${path}" is not implemented by flowctl`),
    }, { endStream: true });
    return;
  }
  res.writeHead(404);
  res.end();
};
