/**
 * `flowctl exec` below the CLI: a command run beside a running component (its env and working
 * dir, on this host) or inside its container (Engine exec). The mode decides which, here.
 */
import type { OrchestratorKind } from "../config/mod.ts";
import { UserError } from "../user_error.ts";
import { programBeside, spawnBeside } from "./process/process_exec.ts";
import { loadLater } from "../load_later.ts";

/** The component a command runs beside, as the running flowctl describes it. */
export interface ExecTarget {
  component: string;
  orchestrator: OrchestratorKind;
  workingDir: string;
  env: Readonly<Record<string, string>>;
  containerId?: string | undefined;
}

/**
 * flowctl's terminal, for an exec inside a container (with a TTY when stdin is a terminal);
 * beside a component, the command inherits flowctl's stdio instead.
 */
export interface ExecTerminal {
  stdin: ReadableStream<Uint8Array>;
  isTerminal(): boolean;
  setRaw(raw: boolean): void;
  /** `[rows, columns]`. */
  consoleSize(): [number, number];
  onStdout(bytes: Uint8Array): void;
  onStderr(bytes: Uint8Array): void;
}

/** How the command ended: its exit status, or its program was not found beside the component. */
export type ExecOutcome =
  | { kind: "exited"; code: number; signal: Deno.Signal | null }
  | { kind: "not_found"; program: string }
  /** The container runtime found it but could not start it (a folder, no permission). */
  | { kind: "cannot_run"; program: string; reason: string };

/** Runs `command` beside or inside the component, per its mode, and waits for its end. */
export async function execInComponent(
  target: ExecTarget,
  command: readonly string[],
  terminal: ExecTerminal,
): Promise<ExecOutcome> {
  if (target.orchestrator === "container") {
    const stdout = new RuntimeFailure(terminal.onStdout);
    const code = await execInComponentContainer(target, command, {
      ...terminal,
      onStdout: (bytes) => stdout.write(bytes),
    });
    const failure = stdout.end();
    const program = command[0] ?? "";
    if (failure === undefined) return { kind: "exited", code, signal: null };
    return /not found|no such file/i.test(failure)
      ? { kind: "not_found", program }
      : { kind: "cannot_run", program, reason: failure.replace(/^.*exec: "[^"]*": /, "") };
  }
  const program = command[0] ?? "";
  if (!programBeside(target, program)) return { kind: "not_found", program };
  const status = await spawnBeside(target, command, { interactive: true }).status;
  return { kind: "exited", code: status.code, signal: status.signal };
}

async function execInComponentContainer(
  target: ExecTarget,
  command: readonly string[],
  terminal: ExecTerminal,
): Promise<number> {
  if (target.containerId === undefined) {
    throw new UserError(`Component "${target.component}" has no running container`);
  }
  // Loaded only here: process mode does not pay for the Docker client.
  const { DockerClient } = await loadLater<typeof import("../docker/docker_client.ts")>(
    new URL("../docker/docker_client.ts", import.meta.url),
  );
  const { execInContainer } = await loadLater<typeof import("./container_exec.ts")>(
    new URL("./container_exec.ts", import.meta.url),
  );
  using docker = await DockerClient.connect();
  const tty = terminal.isTerminal();
  if (tty) terminal.setRaw(true);
  try {
    return await execInContainer(docker, target.containerId, command, {
      tty,
      stdin: terminal.stdin,
      onStdout: terminal.onStdout,
      onStderr: terminal.onStderr,
      ...(tty ? { consoleSize: terminal.consoleSize() } : {}),
    });
  } finally {
    if (tty) terminal.setRaw(false);
  }
}

/**
 * Passes the command's stdout through, except the container runtime's own message when the
 * command could not start (`OCI runtime exec failed: …`, the first and only output then).
 */
class RuntimeFailure {
  static readonly #PREFIX = "OCI runtime exec failed";
  readonly #write: (bytes: Uint8Array) => void;
  #held: Uint8Array[] | undefined = [];

  constructor(write: (bytes: Uint8Array) => void) {
    this.#write = write;
  }

  write(bytes: Uint8Array): void {
    if (!this.#held) return this.#write(bytes);
    this.#held.push(bytes);
    const text = this.#text();
    if (text.length >= RuntimeFailure.#PREFIX.length && !text.startsWith(RuntimeFailure.#PREFIX)) {
      this.#flush();
    }
  }

  /** The runtime's message, if the output was one; else what was held is written. */
  end(): string | undefined {
    if (!this.#held) return undefined;
    const text = this.#text();
    if (text.startsWith(RuntimeFailure.#PREFIX)) return text.trim().replace(/: unknown$/, "");
    this.#flush();
    return undefined;
  }

  #text(): string {
    const held = this.#held ?? [];
    const all = new Uint8Array(held.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const chunk of held) {
      all.set(chunk, at);
      at += chunk.length;
    }
    return new TextDecoder().decode(all);
  }

  #flush(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const chunk of held) this.#write(chunk);
  }
}
