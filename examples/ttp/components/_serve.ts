/** Shared by the example components: the gRPC server and the /health endpoint. */
import * as http2 from "node:http2";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";

/** Serves gRPC routes on 0.0.0.0:`port` (plaintext HTTP/2). */
export function serveGrpc(
  port: number,
  routes: (router: ConnectRouter) => void,
): Promise<http2.Http2Server> {
  const server = http2.createServer(connectNodeAdapter({ routes }));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "0.0.0.0", () => resolve(server));
  });
}

/** Serves GET /health on 0.0.0.0:`port`: 200 while `healthy()` is true, else 503. */
export function serveHealth(port: number, healthy: () => boolean): Deno.HttpServer {
  return Deno.serve({ port, hostname: "0.0.0.0", onListen: () => {} }, (request) => {
    if (new URL(request.url).pathname !== "/health") {
      return new Response("not found", { status: 404 });
    }
    return healthy() ? new Response("ok\n") : new Response("not ready\n", { status: 503 });
  });
}

export function envNumber(name: string, fallback: number): number {
  const value = Number(Deno.env.get(name) ?? fallback);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

/** Runs `stop` on SIGTERM or SIGINT, then exits 0. */
export function onShutdown(stop: () => Promise<void>): void {
  const handler = async () => {
    await stop().catch(() => {});
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", handler);
  Deno.addSignalListener("SIGINT", handler);
}
