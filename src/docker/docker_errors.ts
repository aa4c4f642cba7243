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

/** The engine cannot be reached at all (nothing answers there): exit 1, it may come back. */
export class DockerUnavailableError extends UserError {
  override name = "DockerUnavailableError";
  readonly socket: string;
  readonly hint: string;
  constructor(socket: string, reason: string, options?: ErrorOptions & { hint?: string }) {
    const hint = options?.hint ??
      (socket.startsWith("unix://")
        ? "is dockerd running? (set DOCKER_HOST to use another engine)"
        : "is the engine listening there? (check DOCKER_HOST or the Docker context)");
    super(`Cannot reach the Docker engine at ${socket}: ${reason}; ${hint}`, options);
    this.socket = socket;
    this.hint = hint;
  }
}

/**
 * How the engine is to be reached is wrong and the user must fix it (a context that does not
 * exist, unreadable or wrong certificates, an engine that wants TLS): exit 2.
 */
export class EngineSetupError extends UserError {
  override name = "EngineSetupError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, exitCode: 2 });
  }
}
