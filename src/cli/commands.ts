/** The commands beyond validate/schema/version, and the error classes printed as one line. */
import { ComponentFailedError, PreflightError } from "../orchestrator/orchestrator.ts";
import type { Command } from "./command.ts";
import { runCommand } from "./run.ts";

export const commands: Command[] = [runCommand];

/** Errors caused by the user's setup or components rather than by a flowctl bug. */
export function isKnownError(error: Error): boolean {
  return error instanceof ComponentFailedError || error instanceof PreflightError;
}
