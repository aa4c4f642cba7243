/** The error of everything that can go wrong fetching an image: printed as one line, exit 1. */
import { UserError } from "../user_error.ts";

/** A registry refused, was unreachable, or sent something wrong; names the image reference. */
export class RegistryError extends UserError {
  override name = "RegistryError";
  readonly reference: string;
  constructor(reference: string, message: string, options?: ErrorOptions) {
    super(`image "${reference}": ${message}`, options);
    this.reference = reference;
  }
}
