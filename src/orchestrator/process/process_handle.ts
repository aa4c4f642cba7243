/**
 * A component's processes: its process group, and the descendants that left it (found by the
 * mark in their environment or by holding its output pipes). Exited once all of them are gone.
 */
import { getLogger } from "@logtape/logtape";
import { delay } from "../../delay.ts";
import {
  groupMayBeAlive,
  groupMembers,
  isAlive,
  pipeOf,
  readProcStat,
  signalGroup,
  signalProcess,
} from "../../proc/process_group.ts";
import { StoppableHandle } from "../_handle.ts";
import type { ComponentHandle, ExitStatus, StopOptions } from "../orchestrator.ts";
import type { ProcessScanner } from "./process_scanner.ts";

const logger = getLogger(["flowctl", "process"]);

/** How long to wait for a killed group (or escaped descendants) to disappear. */
const GROUP_EXIT_TIMEOUT_MS = 5_000;
/** How long output may stay open after a component's processes are gone, before its holders are killed. */
const OUTPUT_EOF_MS = 300;
/** How long to wait for end of output after that, before flowctl stops reading it. */
const OUTPUT_CUT_MS = 1_000;

/** A component's process group: exited once the leader, stragglers and escaped descendants are gone. */
export class ProcessHandle extends StoppableHandle implements ComponentHandle {
  readonly componentId: string;
  readonly pid: number;
  readonly pidStartTime: number | undefined;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly exited: Promise<ExitStatus>;
  readonly #mark: string;
  readonly #scanner: ProcessScanner;
  readonly #outputs: CuttableStream[];
  /** The child's stdout and stderr pipes, to find who else holds them. */
  readonly #pipes: Set<string>;

  constructor(
    componentId: string,
    child: Deno.ChildProcess,
    mark: string,
    scanner: ProcessScanner,
  ) {
    super();
    this.componentId = componentId;
    this.pid = child.pid;
    this.pidStartTime = readProcStat(child.pid)?.startTime;
    this.#mark = mark;
    this.#scanner = scanner;
    this.#pipes = new Set(
      [pipeOf(child.pid, 1), pipeOf(child.pid, 2)].filter((p): p is string => p !== undefined),
    );
    this.#outputs = [new CuttableStream(child.stdout), new CuttableStream(child.stderr)];
    [this.stdout, this.stderr] = this.#outputs.map((output) => output.stream) as [
      ReadableStream<Uint8Array>,
      ReadableStream<Uint8Array>,
    ];
    // The leader's exit is not the end: stragglers it left in its group, descendants that
    // escaped the group, and whoever still holds its output are killed and awaited.
    scanner.leaders.add(this.pid);
    this.exited = child.status.then(async (status) => {
      scanner.leaders.delete(this.pid);
      signalGroup(this.pid, "SIGKILL");
      await Promise.all([
        waitForGroupExit(this.pid, GROUP_EXIT_TIMEOUT_MS),
        this.#killEscaped(),
      ]);
      await this.#endOutput();
      return { code: status.code, signal: status.signal ?? null };
    });
  }

  probeAddress(port: number) {
    return { hostname: "127.0.0.1", port };
  }

  protected async stopOnce({ graceMs, force }: StopOptions): Promise<ExitStatus> {
    const first = graceMs > 0 && !force?.aborted ? "SIGTERM" : "SIGKILL";
    signalGroup(this.pid, first);
    // Escaped descendants get the same signal; they are killed for good once the leader is gone.
    void this.#scanner.marked(this.#mark).then((pids) => {
      for (const pid of pids) signalProcess(pid, first);
    });
    if (graceMs > 0) {
      const graceOver = AbortSignal.any([AbortSignal.timeout(graceMs), ...(force ? [force] : [])]);
      const exitedInTime = await Promise.race([
        this.exited.then(() => true),
        delay(graceMs, { signal: graceOver }).then(() => false),
      ]);
      if (!exitedInTime) signalGroup(this.pid, "SIGKILL");
    }
    return await this.exited;
  }

  /** Kills the processes that carry this component's mark but left its group, and awaits them. */
  async #killEscaped(): Promise<void> {
    let pids = await this.#scanner.marked(this.#mark);
    const deadline = Date.now() + GROUP_EXIT_TIMEOUT_MS;
    while (pids.length > 0 && Date.now() < deadline) {
      for (const pid of pids) signalProcess(pid, "SIGKILL");
      await delay(5);
      pids = pids.filter(isAlive);
    }
  }

  /**
   * Waits for the end of output, which is bounded: a process that holds the output pipes
   * without the mark (it cleared its environment) is found through the pipes and killed, and
   * if the output still does not end, flowctl stops reading it.
   */
  async #endOutput(): Promise<void> {
    const ended = Promise.all(this.#outputs.map((output) => output.ended));
    if (await settlesWithin(ended, OUTPUT_EOF_MS)) return;
    const holders = await this.#scanner.pipeHolders(this.#pipes);
    for (const pid of holders) signalProcess(pid, "SIGKILL");
    if (await settlesWithin(ended, OUTPUT_CUT_MS)) return;
    logger.warn(
      "Output of {component} is still held open after it stopped (by pids {holders}); no longer reading it",
      { component: this.componentId, holders: holders.filter(isAlive).join(", ") },
    );
    for (const output of this.#outputs) output.cut();
  }
}

/** A child's output that flowctl can stop reading although a writer still holds it open. */
class CuttableStream {
  readonly stream: ReadableStream<Uint8Array>;
  /** Settles once the output ended, failed, or was cut. */
  readonly ended: Promise<void>;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(source: ReadableStream<Uint8Array>) {
    const ended = Promise.withResolvers<void>();
    this.ended = ended.promise;
    const reader = source.getReader();
    this.#reader = reader;
    this.stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (!done) return controller.enqueue(value);
          controller.close();
        } catch (error) {
          controller.error(error);
        }
        ended.resolve();
      },
      async cancel(reason) {
        ended.resolve();
        await reader.cancel(reason);
      },
    });
  }

  /** Stops reading: a pending read ends as end of output. */
  cut(): void {
    this.#reader.cancel().catch(() => {});
  }
}

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      promise.then(() => true, () => true),
      delay(ms, { signal: timer.signal }).then(() => false),
    ]);
  } finally {
    timer.abort();
  }
}

/**
 * Waits until no live process is left in group `pgid`. A signal tells in O(1) when the group is
 * gone; /proc is only walked when the group lingers (zombies that no one reaped yet).
 */
async function waitForGroupExit(pgid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pause = 1;
  while (groupMayBeAlive(pgid)) {
    if (Date.now() > deadline) return;
    if (pause >= 16 && groupMembers(pgid).length === 0) return;
    signalGroup(pgid, "SIGKILL");
    await delay(pause);
    pause = Math.min(pause * 2, 20);
  }
}
