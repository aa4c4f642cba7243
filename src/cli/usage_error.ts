/** A mistake in how flowctl was invoked; printed as one line with a hint, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
  /** What to do instead, e.g. `run "flowctl run --help"`. */
  readonly hint: string;

  constructor(message: string, hint: string, options?: ErrorOptions) {
    super(message, options);
    this.hint = hint;
  }
}
