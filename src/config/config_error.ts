/** Errors found in a pipeline file, each located by file, line, column and path. */
import { UserError } from "../user_error.ts";

/** One problem in a pipeline file. Lines and columns are 1-based; 0 when unknown. */
export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  /** Dotted path such as `spec.processors[0].inputs[1]`; empty for the whole file. */
  path: string;
  message: string;
}

/** Formats an issue as the one line users see: `file:line:col: path: message`. */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : issue.file;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** Thrown when a pipeline file is invalid; carries every issue found, not just the first. */
export class ConfigError extends UserError {
  override name = "ConfigError";
  readonly issues: readonly ConfigIssue[];
  /** Problems that alone would leave the file valid, found alongside the issues. */
  readonly warnings: readonly ConfigIssue[];

  constructor(
    issues: readonly ConfigIssue[],
    options?: ErrorOptions & { warnings?: readonly ConfigIssue[] },
  ) {
    const first = issues[0];
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
    super(first ? `${formatIssue(first)}${more}` : "invalid pipeline file", {
      ...(options?.cause !== undefined ? { cause: options.cause } : {}),
      exitCode: 2,
    });
    this.issues = issues;
    this.warnings = options?.warnings ?? [];
  }
}
