/** The commands' side of the admin channel: requests to a running flowctl over its socket. */
import * as v from "valibot";
import { isRunLive, readRunState } from "../state/state_file.ts";
import { UserError } from "../user_error.ts";
import { checkPrivateSocket } from "../trust/private_socket.ts";
import {
  adminSocketPath,
  type ControlRequest,
  type ControlResponse,
  ControlResponseSchema,
  DashboardResponseSchema,
  ErrorResponseSchema,
  type ExecContext,
  ExecContextSchema,
} from "./protocol.ts";

/** No live flowctl runs the pipeline, or its admin socket does not answer. */
export class AdminUnavailableError extends UserError {
  override name = "AdminUnavailableError";
}

/** The running flowctl refused a request; the message is its reason. */
export class AdminRequestError extends UserError {
  override name = "AdminRequestError";
}

/** Asks the running flowctl of `pipeline` to restart, stop or start components. */
export async function requestControl(
  pipeline: string,
  request: ControlRequest,
): Promise<ControlResponse> {
  return await call(pipeline, "/v1/control", request, ControlResponseSchema);
}

/** Asks the running flowctl of `pipeline` how to run a command beside `component`. */
export async function requestExecContext(
  pipeline: string,
  component: string,
  replica?: number,
): Promise<ExecContext> {
  const body = { component, ...(replica !== undefined ? { replica } : {}) };
  return await call(pipeline, "/v1/exec-context", body, ExecContextSchema);
}

/** Asks the running flowctl of `pipeline` for its dashboard's URL (it starts one if needed). */
export async function requestDashboard(pipeline: string): Promise<string> {
  return (await call(pipeline, "/v1/ui", {}, DashboardResponseSchema)).url;
}

/** What the user can do about an admin socket that is not the run's own. */
const ADMIN_SOCKET_FIX =
  'it is not the running flowctl\'s own socket: stop that run ("flowctl down") and remove the file';

async function call<T extends v.GenericSchema>(
  pipeline: string,
  path: string,
  body: unknown,
  schema: T,
): Promise<v.InferOutput<T>> {
  const state = await readRunState(pipeline);
  if (!state || !isRunLive(state)) {
    throw new AdminUnavailableError(
      `Pipeline "${pipeline}" is not running; start it with "flowctl run" first`,
    );
  }
  const socket = adminSocketPath(pipeline);
  try {
    // Checked before a byte is sent: a socket someone else made could answer anything.
    checkPrivateSocket(socket, ADMIN_SOCKET_FIX);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new AdminUnavailableError(
      `Cannot reach the flowctl running "${pipeline}" (pid ${state.flowctl.pid}): its admin socket "${socket}" is missing`,
      { cause: error },
    );
  }
  using client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  let response: Response;
  try {
    response = await fetch(`http://flowctl${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      client,
    });
  } catch (error) {
    throw new AdminUnavailableError(
      `Cannot reach the flowctl running "${pipeline}" (pid ${state.flowctl.pid}) at its admin socket "${socket}": ${
        error instanceof Error ? error.message.split("\n")[0] : String(error)
      }`,
      { cause: error },
    );
  }
  const data: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const parsed = v.safeParse(ErrorResponseSchema, data);
    throw new AdminRequestError(
      parsed.success ? parsed.output.error : `the running flowctl answered ${response.status}`,
    );
  }
  const parsed = v.safeParse(schema, data);
  if (!parsed.success) {
    throw new AdminRequestError(
      `the running flowctl sent an unexpected answer: ${v.summarize(parsed.issues)}`,
    );
  }
  return parsed.output;
}
