/**
 * Heartbeats over plain gRPC, answered without Connect's generic request machinery: they are
 * nearly all of the control plane's traffic (every component, every interval), and a stock
 * grpc-js server answers them with far less work per call. The same rules apply
 * (`acceptHeartbeat`); anything else (compression, the Connect protocol, JSON) goes to Connect.
 */
import type * as http2 from "node:http2";
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues } from "@connectrpc/connect";
import { acceptHeartbeat, type Plane } from "./caller.ts";
import { ServiceHeartbeatSchema } from "./gen/flowctl/control_plane_pb.ts";
import { HeartbeatRequestSchema } from "./gen/flowctl/v1/control_plane_pb.ts";
import { encodeGrpcMessage, type NodeHandler } from "./grpc_message.ts";
import { MAX_MESSAGE_BYTES } from "./limits.ts";
import { healthStateOf } from "./wire_mapping.ts";

type HeartbeatMethod = "v1" | "legacy";

const METHODS: Record<string, HeartbeatMethod> = {
  "/flowctl.v1.ControlPlaneService/Heartbeat": "v1",
  "/flowctl.ControlPlane/Heartbeat": "legacy",
};

/** A gRPC message frame holding an empty message (google.protobuf.Empty). */
const EMPTY_FRAME = new Uint8Array(5);

/** `handler`, with gRPC heartbeats of both services answered here. */
export function withHeartbeatFastPath(
  handler: NodeHandler,
  plane: Plane,
  contextValues: (request: http2.Http2ServerRequest) => ContextValues,
): NodeHandler {
  return (request, response) => {
    const method = METHODS[request.url];
    if (method === undefined || request.method !== "POST" || !isPlainGrpc(request.headers)) {
      return handler(request, response);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    request.on("data", (chunk: Uint8Array) => {
      size += chunk.length;
      if (size <= MAX_MESSAGE_BYTES + 5) chunks.push(chunk);
    });
    request.on("end", () => {
      answer(method, chunks, size, { values: contextValues(request) }, plane).then(
        () => respond(response, 0),
        (error) => {
          const failure = ConnectError.from(error);
          respond(response, failure.code, failure.rawMessage);
        },
      );
    });
  };
}

function isPlainGrpc(headers: http2.IncomingHttpHeaders): boolean {
  const type = headers["content-type"];
  const encoding = headers["grpc-encoding"];
  return (type === "application/grpc" || type === "application/grpc+proto") &&
    (encoding === undefined || encoding === "identity");
}

async function answer(
  method: HeartbeatMethod,
  chunks: Uint8Array[],
  size: number,
  context: { values: ContextValues },
  plane: Plane,
): Promise<void> {
  if (size > MAX_MESSAGE_BYTES + 5) {
    throw new ConnectError(
      `message size ${size - 5} is larger than configured readMaxBytes ${MAX_MESSAGE_BYTES}`,
      Code.ResourceExhausted,
    );
  }
  const body = chunks.length === 1 ? chunks[0]! : concat(chunks, size);
  const length = body.length >= 5
    ? new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(1)
    : -1;
  if (body[0] !== 0 || length !== body.length - 5) {
    throw new ConnectError("expected exactly one uncompressed gRPC message", Code.InvalidArgument);
  }
  const message = body.subarray(5);
  if (method === "v1") {
    const request = decoded(() => fromBinary(HeartbeatRequestSchema, message));
    return await acceptHeartbeat(plane, {
      serviceId: request.serviceId,
      metrics: request.metrics,
      status: healthStateOf(request.status),
    }, context);
  }
  const request = decoded(() => fromBinary(ServiceHeartbeatSchema, message));
  await acceptHeartbeat(plane, { serviceId: request.serviceId, metrics: request.metrics }, context);
}

function decoded<T>(decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    throw new ConnectError(`cannot decode the heartbeat: ${String(error)}`, Code.InvalidArgument);
  }
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return body;
}

/** A unary gRPC answer: google.protobuf.Empty on success, else the status and its message. */
function respond(response: http2.Http2ServerResponse, code: number, message = ""): void {
  if (response.stream.destroyed) return;
  response.writeHead(200, { "content-type": "application/grpc" });
  if (code === 0) {
    response.write(EMPTY_FRAME);
    response.addTrailers({ "grpc-status": "0" });
  } else {
    response.addTrailers({
      "grpc-status": String(code),
      "grpc-message": encodeGrpcMessage(message),
    });
  }
  response.end();
}
