/**
 * The dashboard's HTTP server: the page and its two assets, the event stream, a component's log
 * stream, and the control endpoint. Every request needs the token (401 without one, 403 with a
 * wrong one); the control endpoint is a JSON POST whose Origin must be the dashboard's own.
 * Nothing else is served, and the page may load nothing from anywhere else (its CSP says so).
 */
import * as v from "valibot";
import type { OrchestratorKind } from "../config/mod.ts";
import { ControlRequestSchema } from "../admin/protocol.ts";
import type { RunView } from "../runner/run_view.ts";
import { UserError } from "../user_error.ts";
import type { DashboardFeed } from "./dashboard_feed.ts";
import { newToken, tokenMatches } from "./dashboard_token.ts";
import { EventHub, sseFrame } from "./event_hub.ts";
import { followLog } from "./log_follow.ts";
import { PAGE_SCRIPT, PAGE_STYLE, pageHtml } from "./page.ts";

/** The dashboard cannot listen where it was asked to. */
export class DashboardListenError extends UserError {
  override name = "DashboardListenError";
}

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
  "x-frame-options": "DENY",
};

export interface DashboardServerOptions {
  hostname: string;
  port: number;
  feed: DashboardFeed;
  view: () => RunView;
  orchestrator: OrchestratorKind;
}

/** A listening dashboard; disposing closes its streams and stops the server. */
export class DashboardServer implements AsyncDisposable {
  readonly url: string;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #hub: EventHub;
  readonly #closing: AbortController;

  private constructor(
    url: string,
    server: Deno.HttpServer<Deno.NetAddr>,
    hub: EventHub,
    closing: AbortController,
  ) {
    this.url = url;
    this.#server = server;
    this.#hub = hub;
    this.#closing = closing;
  }

  /**
   * Listens on `hostname:port` (0: a free port) with a new token.
   * @throws {DashboardListenError} when the address cannot be used.
   */
  static start(options: DashboardServerOptions): DashboardServer {
    const token = newToken();
    const hub = new EventHub(options.feed, options.view, options.orchestrator);
    const closing = new AbortController();
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = Deno.serve(
        { hostname: options.hostname, port: options.port, onListen: () => {} },
        (request) => handle(request, { token, hub, view: options.view, closing: closing.signal }),
      );
    } catch (error) {
      void hub[Symbol.asyncDispose]();
      throw new DashboardListenError(
        `Cannot serve the dashboard on ${options.hostname}:${options.port}: ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error },
      );
    }
    const wildcard = ["0.0.0.0", "::", ""].includes(options.hostname);
    const host = wildcard ? "127.0.0.1" : options.hostname;
    const shown = host.includes(":") ? `[${host}]` : host;
    return new DashboardServer(
      `http://${shown}:${server.addr.port}/?token=${token}`,
      server,
      hub,
      closing,
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#closing.abort();
    await this.#hub[Symbol.asyncDispose]();
    await this.#server.shutdown();
  }
}

interface Context {
  token: string;
  hub: EventHub;
  view: () => RunView;
  closing: AbortSignal;
}

async function handle(request: Request, context: Context): Promise<Response> {
  const url = new URL(request.url);
  const given = url.searchParams.get("token") ?? request.headers.get("x-flowctl-token");
  if (given === null || given === "") {
    return text(401, "this dashboard needs its token: open the URL flowctl printed");
  }
  if (!tokenMatches(given, context.token)) return text(403, "wrong token");
  const route = `${request.method} ${url.pathname}`;
  switch (route) {
    case "GET /":
      return respond(pageHtml(context.token), "text/html; charset=utf-8");
    case "GET /app.js":
      return respond(PAGE_SCRIPT, "text/javascript; charset=utf-8");
    case "GET /app.css":
      return respond(PAGE_STYLE, "text/css; charset=utf-8");
    case "GET /api/events":
      return stream(context.hub.open());
    case "GET /api/logs":
      return logStream(url.searchParams.get("component") ?? "", context);
    case "POST /api/control":
      return await control(request, context);
  }
  return text(404, `not found: ${request.method} ${url.pathname}`);
}

/** Restart, stop or start, as the CLI asks them; only from the dashboard's own page. */
async function control(request: Request, context: Context): Promise<Response> {
  const origin = request.headers.get("origin");
  const host = request.headers.get("host");
  if (origin === null || host === null || origin !== `http://${host}`) {
    return text(403, "control requests must come from the dashboard's own page (Origin)");
  }
  if (!(request.headers.get("content-type") ?? "").startsWith("application/json")) {
    return text(415, "control requests are JSON");
  }
  const parsed = v.safeParse(ControlRequestSchema, await request.json().catch(() => undefined));
  if (!parsed.success) return text(400, `invalid request: ${v.summarize(parsed.issues)}`);
  const { action, components, withDependents } = parsed.output;
  try {
    const results = await context.view().control(action, components, { withDependents });
    return Response.json({ results }, { headers: SECURITY_HEADERS });
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return text(409, error.message);
  }
}

/** The component's log: its last lines, then new ones as they are written. */
function logStream(id: string, context: Context): Response {
  const component = context.view().snapshot().find((c) => c.id === id);
  if (!component?.logFile) return text(404, `no component "${id}" with a log`);
  const path = component.logFile;
  const stopped = new AbortController();
  const signal = AbortSignal.any([stopped.signal, context.closing]);
  return stream(
    new ReadableStream<Uint8Array>({
      start(controller) {
        followLog(path, (lines) => controller.enqueue(sseFrame("lines", lines)), { signal })
          .then(() => controller.close(), (error) => controller.error(error))
          .catch(() => {});
      },
      cancel() {
        stopped.abort();
      },
    }),
  );
}

function stream(body: ReadableStream<Uint8Array>): Response {
  return new Response(body, {
    headers: { ...SECURITY_HEADERS, "content-type": "text/event-stream; charset=utf-8" },
  });
}

function respond(body: string, type: string): Response {
  return new Response(body, { headers: { ...SECURITY_HEADERS, "content-type": type } });
}

function text(status: number, message: string): Response {
  return new Response(`${message}\n`, {
    status,
    headers: { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8" },
  });
}
