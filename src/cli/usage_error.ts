import { UserError } from "../user_error.ts";

/** A mistake in how flowctl was invoked; printed as one line with a hint, exit code 2. */
export class UsageError extends UserError {
  override name = "UsageError";
  /** What to do instead, e.g. `run "flowctl run --help"`. */
  readonly hint: string;

  constructor(message: string, hint: string, options?: ErrorOptions) {
    super(message, { ...options, exitCode: 2 });
    this.hint = hint;
  }
}
