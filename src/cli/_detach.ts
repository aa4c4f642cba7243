/**
 * `flowctl run -d`: re-executes flowctl in a new session (so closing the terminal does not reach
 * it) with its output going to files in the state folder, shows that output until the pipeline
 * has started (exit 0) or the run ended (its exit code), and leaves it running.
 */
import { basename, join } from "node:path";
import { delay } from "../delay.ts";
import { ensureStateDir, isRunLive, readRunState, stateDir } from "../state/state_file.ts";
import { ExitCode } from "./exit_code.ts";
import type { Output } from "./output.ts";
import { writeAll } from "./output.ts";
import { renderEvent } from "./run_renderer.ts";
import { installShutdownSignals } from "./shutdown_signals.ts";

/** The hidden option that tells a detached flowctl whom to signal once the pipeline started. */
export const NOTIFY_OPTION = "detached-from";
const READY_SIGNAL: Deno.Signal = "SIGUSR1";

/** Where a detached run of `pipeline` writes its own output: `<state dir>/<pipeline>.out|.err`. */
export function detachedOutputPaths(pipeline: string): { out: string; err: string } {
  return {
    out: join(stateDir(), `${pipeline}.out`),
    err: join(stateDir(), `${pipeline}.err`),
  };
}

/** In the detached flowctl: tells the waiting `run -d` that the pipeline started. */
export function notifyStarted(pid: number): void {
  try {
    Deno.kill(pid, READY_SIGNAL);
  } catch {
    // it gave up waiting (Ctrl+C): nothing to tell
  }
}

/**
 * Starts `flowctl run <args> --quiet` detached and follows its output until the pipeline
 * started or the run ended. Ctrl+C meanwhile stops the detached run.
 * @returns the exit code for `run -d`.
 */
export async function runDetached(
  pipeline: string,
  args: readonly string[],
  out: Output,
): Promise<number> {
  await ensureStateDir();
  // Refused here, not by the detached run: its output files belong to the live run.
  const live = await readRunState(pipeline);
  if (live && isRunLive(live)) {
    renderEvent(out, {
      type: "pipeline_failed",
      component: "",
      reason:
        `Cannot start pipeline: "${pipeline}" is already running (flowctl pid ${live.flowctl.pid}, started from ${live.file}); stop it first with "flowctl down ${pipeline}"`,
      logTail: [],
    });
    return ExitCode.failure;
  }
  const paths = detachedOutputPaths(pipeline);
  await Deno.writeTextFile(paths.out, "", { mode: 0o600 });
  await Deno.writeTextFile(paths.err, "", { mode: 0o600 });
  const started = Promise.withResolvers<"started">();
  const onReady = () => started.resolve("started");
  Deno.addSignalListener(READY_SIGNAL, onReady);
  // Redirection by sh, so that everything the run prints (even a crash) lands in the files;
  // the arguments are passed as words, never parsed by the shell.
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      'out=$1 err=$2; shift 2; exec "$@" >>"$out" 2>>"$err"',
      "flowctl-detach",
      paths.out,
      paths.err,
      ...selfCommand(),
      "run",
      ...args,
      "--quiet",
      `--${NOTIFY_OPTION}`,
      String(Deno.pid),
    ],
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const signals = installShutdownSignals({
    onFirst: () => signalQuietly(child.pid, "SIGTERM"),
    onSecond: () => signalQuietly(child.pid, "SIGINT"),
  });
  const following = new AbortController();
  const followers = Promise.all([
    follow(paths.out, (bytes) => out.raw(bytes), following.signal),
    follow(paths.err, (bytes) => writeAll(Deno.stderr, bytes), following.signal),
  ]);
  try {
    const outcome = await Promise.race([started.promise, child.status]);
    following.abort();
    await followers;
    if (outcome === "started") {
      child.unref();
      const hint =
        `Pipeline ${pipeline} runs in the background (flowctl pid ${child.pid}); its output goes to ${paths.out}`;
      if (out.format === "json") {
        out.json({ time: new Date().toISOString(), event: "detached", pid: child.pid });
      } else out.line(hint);
      return ExitCode.ok;
    }
    return outcome.code;
  } finally {
    signals[Symbol.dispose]();
    Deno.removeSignalListener(READY_SIGNAL, onReady);
  }
}

/** How to run this flowctl again: the compiled binary, or deno with the main module. */
function selfCommand(): string[] {
  const executable = Deno.execPath();
  return basename(executable).startsWith("deno")
    ? [executable, "run", "-A", "--quiet", Deno.mainModule]
    : [executable];
}

/** Copies what is appended to `path` to `write` until `signal` aborts, then what is left. */
async function follow(
  path: string,
  write: (bytes: Uint8Array) => void,
  signal: AbortSignal,
): Promise<void> {
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(16384);
  while (true) {
    const read = await file.read(buffer);
    if (read !== null && read > 0) {
      write(buffer.slice(0, read));
      continue;
    }
    if (signal.aborted) return;
    await delay(20, { signal });
  }
}

function signalQuietly(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(pid, signal);
  } catch {
    // already gone
  }
}
