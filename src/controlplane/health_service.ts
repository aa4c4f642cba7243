/** The standard gRPC health service (grpc.health.v1), for grpc_health_probe and gRPC probes. */
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus } from "./gen/grpc/health/v1/health_pb.ts";

/**
 * Serves `grpc.health.v1.Health`: the server ("") and each of `services` are SERVING while
 * the control plane runs. Watch sends the status once and keeps the stream open until the
 * caller leaves or the server closes.
 */
export function addHealth(router: ConnectRouter, services: readonly string[]): void {
  const known = new Set(["", ...services]);
  router.service(Health, {
    check(request) {
      if (!known.has(request.service)) {
        throw new ConnectError(`service "${request.service}" is not served here`, Code.NotFound);
      }
      return { status: HealthCheckResponse_ServingStatus.SERVING };
    },
    async *watch(request, context) {
      yield {
        status: known.has(request.service)
          ? HealthCheckResponse_ServingStatus.SERVING
          : HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN,
      };
      await new Promise<void>((resolve) => {
        if (context.signal.aborted) return resolve();
        context.signal.addEventListener("abort", () => resolve(), { once: true });
      });
    },
  });
}
