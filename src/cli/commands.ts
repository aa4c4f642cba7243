/** The commands beyond validate/schema/version, and the error classes printed as one line. */
import type { Command } from "./command.ts";

export const commands: Command[] = [];

/** Errors caused by the user's setup or components rather than by a flowctl bug. */
export function isKnownError(_error: Error): boolean {
  return false;
}
