/**
 * What `flowctl status` asks a running pipeline's control plane: its registrations, as plain
 * data, so the status command needs no gRPC code of its own.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ControlPlaneService, HealthStatus } from "./gen/flowctl/v1/control_plane_pb.ts";

/** One registration as `status` shows it. */
export interface RegistrationStatus {
  /** The pipeline component (or service) it belongs to. */
  componentId: string;
  lastHeartbeatMs?: number;
  /** The control plane considers it unhealthy (stale heartbeats, or it said so). */
  unhealthy: boolean;
}

/**
 * The registrations of the control plane at `host:port`; none when it does not answer within
 * `timeoutMs` (a pipeline that is stopping, or a control plane being restarted).
 */
export async function listRegistrations(
  controlPlane: { host: string; port: number },
  options: { timeoutMs: number },
): Promise<RegistrationStatus[]> {
  const host = controlPlane.host.includes(":") ? `[${controlPlane.host}]` : controlPlane.host;
  const baseUrl = `http://${host}:${controlPlane.port}`;
  const sessionManager = new Http2SessionManager(baseUrl);
  const client = createClient(
    ControlPlaneService,
    createGrpcTransport({ baseUrl, sessionManager }),
  );
  try {
    const response = await client.listComponents(
      { includeUnhealthy: true },
      { timeoutMs: options.timeoutMs },
    );
    return response.components.map((r) => ({
      componentId: r.component?.id ?? "",
      ...(r.lastHeartbeat ? { lastHeartbeatMs: timestampMs(r.lastHeartbeat) } : {}),
      unhealthy: r.status === HealthStatus.UNHEALTHY,
    }));
  } catch {
    return [];
  } finally {
    // Closed at once, not left idle: an idle session ended by a GOAWAY is what aborts Deno's
    // node:http2 (denoland/deno#36788); the control plane survives it now, but need not restart.
    sessionManager.abort();
  }
}
