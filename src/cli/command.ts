/** What a command's module provides: its help and the command itself. */
export interface CommandModule {
  /** Full `--help` text. */
  help: string;
  /** Runs the command and returns its exit code. */
  run(args: string[]): Promise<number>;
}

/**
 * An entry of the command list. The module loads only when the command is used, so a quick
 * command (`version`, `validate`) does not pay for loading the control plane of `run`.
 */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Internal (`__data-path`, `__control-plane`): left out of the command list and suggestions. */
  hidden?: boolean;
  load(): Promise<CommandModule>;
}

/** Whether `args` ask for help. */
export function wantsHelp(args: readonly string[]): boolean {
  return args.includes("--help") || args.includes("-h");
}
