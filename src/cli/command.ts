/** The shape every CLI command has. */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full `--help` text. */
  help: string;
  /** Runs the command and returns its exit code. */
  run(args: string[]): Promise<number>;
}

/** Whether `args` ask for help. */
export function wantsHelp(args: readonly string[]): boolean {
  return args.includes("--help") || args.includes("-h");
}
