/** The running flowctl's side of the admin channel: a small HTTP server on a unix socket. */
import { getLogger } from "@logtape/logtape";
import * as v from "valibot";
import { UserError } from "../user_error.ts";
import { RunLock, RunLockedError } from "../state/run_lock.ts";
import {
  adminSocketPath,
  type ControlRequest,
  ControlRequestSchema,
  type ControlResponse,
  type ExecContext,
  ExecContextRequestSchema,
} from "./protocol.ts";

const logger = getLogger(["flowctl", "admin"]);

/** The largest request read: requests are a few hundred bytes of JSON. */
export const MAX_ADMIN_REQUEST_BYTES = 64 * 1024;

/** A request larger than MAX_ADMIN_REQUEST_BYTES. */
class RequestTooLarge extends Error {}

/** What the admin channel asks of the run. */
export interface AdminHandlers {
  control(request: ControlRequest): Promise<ControlResponse>;
  /** @throws {UserError} when the component is unknown or not running. */
  execContext(componentId: string, replica?: number): ExecContext;
  /** `flowctl ui`: the URL of the run's dashboard (with its token), started on demand. */
  dashboard?(): Promise<{ url: string }>;
}

/** The admin socket of a run; disposing closes it and removes the socket file. */
export class AdminServer implements AsyncDisposable {
  readonly path: string;
  readonly #server: Deno.HttpServer<Deno.UnixAddr>;

  private constructor(path: string, server: Deno.HttpServer<Deno.UnixAddr>) {
    this.path = path;
    this.#server = server;
  }

  /** Listens on `<state dir>/<pipeline>.sock`, replacing a socket a dead run left. */
  static async listen(pipeline: string, handlers: AdminHandlers): Promise<AdminServer> {
    const path = adminSocketPath(pipeline);
    // The caller holds the pipeline's run claim: a socket file here belongs to a dead run.
    await Deno.remove(path).catch(() => {});
    const server = Deno.serve(
      { path, onListen: () => {} },
      (request) => handle(request, handlers),
    );
    await Deno.chmod(path, 0o600);
    return new AdminServer(path, server);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.shutdown();
    await Deno.remove(this.path).catch(() => {});
  }
}

async function handle(request: Request, handlers: AdminHandlers): Promise<Response> {
  const url = new URL(request.url);
  try {
    if (request.method === "POST" && url.pathname === "/v1/control") {
      const body = v.parse(ControlRequestSchema, await readJson(request));
      return Response.json(await handlers.control(body));
    }
    if (request.method === "POST" && url.pathname === "/v1/exec-context") {
      const body = v.parse(ExecContextRequestSchema, await readJson(request));
      return Response.json(handlers.execContext(body.component, body.replica));
    }
    if (request.method === "POST" && url.pathname === "/v1/ui" && handlers.dashboard) {
      return Response.json(await handlers.dashboard());
    }
    return Response.json({ error: `no such request: ${request.method} ${url.pathname}` }, {
      status: 404,
    });
  } catch (error) {
    if (error instanceof RequestTooLarge) {
      await request.body?.cancel().catch(() => {});
      return Response.json({
        error: `request larger than ${MAX_ADMIN_REQUEST_BYTES} bytes`,
      }, { status: 413 });
    }
    if (error instanceof v.ValiError || error instanceof SyntaxError) {
      return Response.json({ error: `invalid request: ${error.message}` }, { status: 400 });
    }
    if (error instanceof UserError) {
      return Response.json({ error: error.message }, { status: 409 });
    }
    logger.error("Admin request {path} failed: {error}", { path: url.pathname, error });
    return Response.json({ error: `internal error: ${String(error)}` }, { status: 500 });
  }
}

/** The request's JSON body, read only up to MAX_ADMIN_REQUEST_BYTES (never buffered whole). */
async function readJson(request: Request): Promise<unknown> {
  if (Number(request.headers.get("content-length") ?? 0) > MAX_ADMIN_REQUEST_BYTES) {
    throw new RequestTooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    for await (const chunk of request.body) {
      size += chunk.byteLength;
      if (size > MAX_ADMIN_REQUEST_BYTES) throw new RequestTooLarge();
      chunks.push(chunk);
    }
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return JSON.parse(new TextDecoder().decode(bytes));
}

/**
 * Removes the admin socket a killed run left (`flowctl down` once no flowctl runs the
 * pipeline); anything there that is not a socket is left alone.
 */
export async function removeStaleAdminSocket(pipeline: string): Promise<boolean> {
  const path = adminSocketPath(pipeline);
  const info = await Deno.lstat(path).catch(() => undefined);
  if (!info?.isSocket) return false;
  // Only while holding the run lock: a run that is starting now owns the socket it just made.
  let lock: RunLock;
  try {
    lock = await RunLock.acquire(pipeline, { file: "-" });
  } catch (error) {
    if (error instanceof RunLockedError) return false;
    throw error;
  }
  try {
    await Deno.remove(path).catch(() => {});
  } finally {
    lock[Symbol.dispose]();
  }
  return true;
}
