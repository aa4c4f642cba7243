/**
 * The data path's gRPC clients: the control plane (who registered where), gRPC reflection (what a
 * component serves), and the flowctl.v1 Source/Processor/Consumer calls. One HTTP/2 session per
 * address, closed with the data path; a session that breaks is replaced on the next call.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import {
  ComponentType,
  ControlPlaneService,
} from "../controlplane/gen/flowctl/v1/control_plane_pb.ts";
import { SourceService } from "../controlplane/gen/flowctl/v1/source_pb.ts";
import { ProcessorService } from "../controlplane/gen/flowctl/v1/processor_pb.ts";
import { ConsumerService } from "../controlplane/gen/flowctl/v1/consumer_pb.ts";
import { ServerReflection } from "../controlplane/gen/grpc/reflection/v1/reflection_pb.ts";
import { ServerReflection as ServerReflectionAlpha } from "../controlplane/gen/grpc/reflection/v1alpha/reflection_pb.ts";
import type { SeenRegistration } from "./decide.ts";

/** Events up to 50 MiB, as the Go flowctl allows. */
const MAX_MESSAGE_BYTES = 50 * 1024 * 1024;

export interface LiveRegistration extends SeenRegistration {
  registeredAtMs: number;
  /** The event types it registered as accepting (`input_event_types`); empty: any type. */
  inputEventTypes: readonly string[];
}

/** HTTP/2 sessions by address, for every client of the data path. */
export class Sessions {
  readonly #managers = new Map<string, Http2SessionManager>();

  transport(address: string) {
    const baseUrl = `http://${address}`;
    let manager = this.#managers.get(baseUrl);
    if (!manager) {
      manager = new Http2SessionManager(baseUrl, { pingIntervalMs: 10_000, pingTimeoutMs: 10_000 });
      this.#managers.set(baseUrl, manager);
    }
    return createGrpcTransport({
      baseUrl,
      sessionManager: manager,
      readMaxBytes: MAX_MESSAGE_BYTES,
      writeMaxBytes: MAX_MESSAGE_BYTES,
    });
  }

  /** Drops the session of `address`, so the next call dials again (after a restart). */
  forget(address: string): void {
    const baseUrl = `http://${address}`;
    this.#managers.get(baseUrl)?.abort();
    this.#managers.delete(baseUrl);
  }

  close(): void {
    for (const manager of this.#managers.values()) manager.abort();
    this.#managers.clear();
  }

  source(address: string): Client<typeof SourceService> {
    return createClient(SourceService, this.transport(address));
  }

  processor(address: string): Client<typeof ProcessorService> {
    return createClient(ProcessorService, this.transport(address));
  }

  consumer(address: string): Client<typeof ConsumerService> {
    return createClient(ConsumerService, this.transport(address));
  }
}

/** The registrations the control plane at `endpoint` lists, by pipeline component id. */
export async function listRegistrations(
  sessions: Sessions,
  endpoint: string,
  signal: AbortSignal,
): Promise<Map<string, LiveRegistration>> {
  const client = createClient(ControlPlaneService, sessions.transport(endpoint));
  const response = await client.listComponents({ includeUnhealthy: true }, {
    timeoutMs: 3_000,
    signal,
  });
  const found = new Map<string, LiveRegistration>();
  for (const status of response.components) {
    const info = status.component;
    if (!info) continue;
    found.set(info.id, {
      type: typeName(info.type),
      endpoint: info.endpoint,
      inputEventTypes: info.inputEventTypes,
      registeredAtMs: status.registeredAt ? timestampMs(status.registeredAt) : 0,
    });
  }
  return found;
}

function typeName(type: ComponentType): string {
  switch (type) {
    case ComponentType.SOURCE:
      return "source";
    case ComponentType.PROCESSOR:
      return "processor";
    case ComponentType.CONSUMER:
      return "sink";
    default:
      return "unspecified";
  }
}

/**
 * The services gRPC reflection lists at `address` (grpc.reflection.v1, else v1alpha as older
 * servers have), or the error's text.
 */
export async function listServices(
  sessions: Sessions,
  address: string,
  signal: AbortSignal,
): Promise<string[] | string> {
  const options = { timeoutMs: 3_000, signal };
  const ask = async function* () {
    yield { host: "", messageRequest: { case: "listServices" as const, value: "" } };
  };
  try {
    const client = createClient(ServerReflection, sessions.transport(address));
    for await (const response of client.serverReflectionInfo(ask(), options)) {
      if (response.messageResponse.case === "listServicesResponse") {
        return response.messageResponse.value.service.map((s) => s.name);
      }
    }
  } catch (error) {
    try {
      const client = createClient(ServerReflectionAlpha, sessions.transport(address));
      for await (const response of client.serverReflectionInfo(ask(), options)) {
        if (response.messageResponse.case === "listServicesResponse") {
          return response.messageResponse.value.service.map((s) => s.name);
        }
      }
    } catch {
      return error instanceof Error ? error.message : String(error);
    }
  }
  return "no list_services answer";
}

/** The HTTP/2 client connection preface, then an empty SETTINGS frame (RFC 9113 §3.4). */
const PREFACE = new Uint8Array([
  ...new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
  0,
  0,
  0,
  4,
  0,
  0,
  0,
  0,
  0,
]);
const SETTINGS_FRAME = 4;
const ANSWER_MS = 2_000;

/**
 * Whether an HTTP/2 server answers at `address`: it sends its SETTINGS frame. A TCP connection
 * alone is not enough (the SDK registers before it listens, and a swarm node's published port
 * is held by the engine's proxy, which accepts and then closes while the task is gone).
 */
export async function canConnect(address: string): Promise<boolean> {
  const at = address.lastIndexOf(":");
  let conn: Deno.TcpConn | undefined;
  const timer = setTimeout(() => conn?.close(), ANSWER_MS);
  try {
    conn = await Deno.connect({
      hostname: address.slice(0, at).replace(/^\[|\]$/g, ""),
      port: Number(address.slice(at + 1)),
    });
    await conn.write(PREFACE);
    const header = new Uint8Array(9);
    let read = 0;
    while (read < header.length) {
      const n = await conn.read(header.subarray(read));
      if (n === null) return false;
      read += n;
    }
    return header[3] === SETTINGS_FRAME;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch {
      // closed by the timer
    }
  }
}
