/** The commands beyond validate/schema/version, and the error classes printed as one line. */
import { ControlPlanePortError } from "../controlplane/control_plane_server.ts";
import { DockerApiError, DockerUnavailableError } from "../docker/docker_errors.ts";
import { ComponentFailedError, PreflightError } from "../orchestrator/orchestrator.ts";
import type { Command } from "./command.ts";
import { downCommand } from "./down.ts";
import { logsCommand } from "./logs.ts";
import { runCommand } from "./run.ts";
import { statusCommand } from "./status.ts";

export const commands: Command[] = [runCommand, statusCommand, downCommand, logsCommand];

/** Errors caused by the user's setup or components rather than by a flowctl bug. */
export function isKnownError(error: Error): boolean {
  return error instanceof ComponentFailedError || error instanceof PreflightError ||
    error instanceof ControlPlanePortError || error instanceof DockerApiError ||
    error instanceof DockerUnavailableError;
}
