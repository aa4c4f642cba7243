/** Shared by the example components: the gRPC server and the /health endpoint. */
import * as http2 from "node:http2";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";

/**
 * A plaintext HTTP/2 gRPC server whose streams end with a status when it shuts down: a client
 * then reads UNAVAILABLE (restart and retry) instead of a stream cut without one, which gRPC
 * clients report as INTERNAL (a bug).
 */
export class GrpcServer {
  #server: http2.Http2Server | undefined;
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  readonly #streams = new Set<Promise<void>>();
  readonly #shutdown = new AbortController();

  /** Listens on 0.0.0.0:`port` with `routes`, whose handlers may use `stream()`. */
  listen(port: number, routes: (router: ConnectRouter) => void): Promise<void> {
    const server = http2.createServer(connectNodeAdapter({ routes }));
    this.#server = server;
    server.on("session", (session) => {
      this.#sessions.add(session);
      session.once("close", () => this.#sessions.delete(session));
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "0.0.0.0", () => resolve());
    });
  }

  /**
   * Yields what `source` yields until shutdown, then ends the stream with UNAVAILABLE. Handlers
   * of streaming methods return `server.stream(…)`.
   */
  async *stream<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
    const { promise: settled, resolve } = Promise.withResolvers<void>();
    this.#streams.add(settled);
    const iterator = source[Symbol.asyncIterator]();
    const stopped = new Promise<never>((_, reject) => {
      const stop = () => reject(new ConnectError("the server is shutting down", Code.Unavailable));
      if (this.#shutdown.signal.aborted) stop();
      else this.#shutdown.signal.addEventListener("abort", stop, { once: true });
    });
    stopped.catch(() => {}); // rejects only at shutdown; the race below reports it
    try {
      while (true) {
        const next = await Promise.race([iterator.next(), stopped]);
        if (next.done) return;
        yield next.value;
      }
    } finally {
      // Not awaited: a source blocked on its own input ends when its signal aborts.
      iterator.return?.()?.catch(() => {});
      resolve();
      this.#streams.delete(settled);
    }
  }

  /** Ends open streams with UNAVAILABLE, lets their trailers reach the clients, then closes. */
  async close(): Promise<void> {
    this.#shutdown.abort();
    await Promise.all(this.#streams);
    const closed = [...this.#sessions].map((session) =>
      new Promise<void>((resolve) => {
        session.once("close", () => resolve());
        session.close(); // graceful: GOAWAY after the streams that are still open
      })
    );
    this.#server?.close();
    await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(r, 2_000))]);
  }
}

/** Serves gRPC routes on 0.0.0.0:`port` (plaintext HTTP/2); `routes` gets the server. */
export async function serveGrpc(
  port: number,
  routes: (router: ConnectRouter, server: GrpcServer) => void,
): Promise<GrpcServer> {
  const server = new GrpcServer();
  await server.listen(port, (router) => routes(router, server));
  return server;
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
