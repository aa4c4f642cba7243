/** Typed errors of the Docker Engine client. */
import { UserError } from "../user_error.ts";

/** The engine answered with an error status. */
export class DockerApiError extends UserError {
  override name = "DockerApiError";
  readonly status: number;
  readonly method: string;
  readonly path: string;
  /** The engine's own message. */
  readonly engineMessage: string;
  constructor(status: number, method: string, path: string, engineMessage: string) {
    super(`Docker engine: ${method} ${path} failed with ${status}: ${engineMessage}`);
    this.status = status;
    this.method = method;
    this.path = path;
    this.engineMessage = engineMessage;
  }
}

/** The engine cannot be reached at all. */
export class DockerUnavailableError extends UserError {
  override name = "DockerUnavailableError";
  readonly socket: string;
  readonly hint: string;
  constructor(socket: string, reason: string, options?: ErrorOptions) {
    const hint = socket.startsWith("unix://")
      ? "is dockerd running? (set DOCKER_HOST to use another engine)"
      : "is the engine listening there? (check DOCKER_HOST)";
    super(`Cannot reach the Docker engine at ${socket}: ${reason}; ${hint}`, options);
    this.socket = socket;
    this.hint = hint;
  }
}
