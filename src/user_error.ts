/** The base of every error caused by the user's file, setup or components rather than a bug. */

/**
 * An error printed as one line without a stack; `exitCode` is what flowctl exits with
 * (1 a runtime or component failure, 2 a usage or configuration error).
 */
export class UserError extends Error {
  override name = "UserError";
  readonly exitCode: 1 | 2;

  constructor(message: string, options?: ErrorOptions & { exitCode?: 1 | 2 }) {
    super(message, options);
    this.exitCode = options?.exitCode ?? 1;
  }
}
