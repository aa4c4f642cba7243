/**
 * `flowctl run -d`: re-executes flowctl in a new session (so closing the terminal does not reach
 * it) with its output going to files in the state folder, shows that output until the pipeline
 * has started (exit 0) or the run ended (its exit code), and leaves it running.
 *
 * Readiness goes through a file of the (private) state folder that this launch created, never a
 * signal: SIGUSR1 can make a JavaScript runtime open its inspector, which any local user could
 * then drive. Each launch has output and readiness files of its own, so two launches at once
 * never show each other's output; the one that started renames its files to `<pipeline>.out`
 * and `.err`.
 */
import { basename, join } from "node:path";
import { delay } from "../delay.ts";
import { ensureStateDir, isRunLive, readRunState, stateDir } from "../state/state_file.ts";
import { ExitCode } from "./exit_code.ts";
import type { Output } from "./output.ts";
import { writeAll } from "./output.ts";
import { renderEvent } from "./run_renderer.ts";
import { installShutdownSignals } from "./shutdown_signals.ts";

/** The hidden option naming the file a detached flowctl writes to once the pipeline started. */
export const READY_OPTION = "ready-file";

/** Where a detached run of `pipeline` writes its own output: `<state dir>/<pipeline>.out|.err`. */
export function detachedOutputPaths(pipeline: string): { out: string; err: string } {
  return {
    out: join(stateDir(), `${pipeline}.out`),
    err: join(stateDir(), `${pipeline}.err`),
  };
}

/**
 * In the detached flowctl: tells the waiting `run -d` that the pipeline started, by writing to
 * the readiness file it created (never creating one: a missing file means nobody waits).
 */
export function notifyStarted(readyFile: string): void {
  try {
    using file = Deno.openSync(readyFile, { write: true, append: true });
    file.writeSync(new TextEncoder().encode("started\n"));
  } catch {
    // it gave up waiting (Ctrl+C) and removed the file: nothing to tell
  }
}

/** The files of one launch: its output, and the readiness file the detached run writes to. */
async function launchFiles(pipeline: string) {
  const base = join(stateDir(), `${pipeline}.launch-${crypto.randomUUID().slice(0, 8)}`);
  const files = { out: `${base}.out`, err: `${base}.err`, ready: `${base}.ready` };
  for (const path of Object.values(files)) {
    (await Deno.open(path, { write: true, createNew: true, mode: 0o600 })).close();
  }
  return files;
}

/** Resolves once the detached run wrote to the readiness file (or `signal` aborts). */
async function becameReady(path: string, signal: AbortSignal): Promise<"started" | "aborted"> {
  while (!signal.aborted) {
    const size = await Deno.stat(path).then((info) => info.size, () => 0);
    if (size > 0) return "started";
    await delay(20, { signal });
  }
  return "aborted";
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
  const paths = await launchFiles(pipeline);
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
      `--${READY_OPTION}`,
      paths.ready,
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
  let started = false;
  try {
    const outcome = await Promise.race([becameReady(paths.ready, following.signal), child.status]);
    following.abort();
    await followers;
    if (outcome === "started") {
      started = true;
      child.unref();
      // The open files move with the rename: the run keeps writing to them.
      const final = detachedOutputPaths(pipeline);
      await Deno.rename(paths.out, final.out);
      await Deno.rename(paths.err, final.err);
      const hint =
        `Pipeline ${pipeline} runs in the background (flowctl pid ${child.pid}); its output goes to ${final.out}`;
      if (out.format === "json") {
        out.json({ time: new Date().toISOString(), event: "detached", pid: child.pid });
      } else out.line(hint);
      return ExitCode.ok;
    }
    return outcome === "aborted" ? ExitCode.failure : outcome.code;
  } finally {
    following.abort();
    signals[Symbol.dispose]();
    // What a launch that did not start printed was shown above; its files go.
    for (const path of started ? [paths.ready] : Object.values(paths)) {
      await Deno.remove(path).catch(() => {});
    }
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
