/** Errors of the control plane, apart from its server so that the CLI can name them cheaply. */
import { UserError } from "../user_error.ts";

/** The control plane port is taken; the message says how to pick another. */
export class ControlPlanePortError extends UserError {
  override name = "ControlPlanePortError";
}
