/**
 * Watches that the control plane process still answers: heap corruption in Deno's `node:http2`
 * (denoland/deno#36788) can deadlock the process instead of killing it, and a process that hangs
 * holds its port and every caller's call. flowctl pings it over their pipe; a ping left
 * unanswered past the deadline means it hangs.
 */

/** How often flowctl pings a listening control plane process. */
export const PING_INTERVAL_MS = 1_000;
/**
 * How long a ping may go unanswered before the process counts as hung. A busy process answers
 * within milliseconds (50 grpc-js clients heartbeating back to back, bench/controlplane_load.cjs:
 * see the README); this leaves orders of magnitude for GC pauses and a starved machine, and is
 * still shorter than a component's heartbeat interval (10 s by default), so a hang costs each
 * component at most the one call in flight.
 */
export const PING_DEADLINE_MS = 5_000;

export interface LivenessWatchOptions {
  /** Sends ping `id` to the process (it answers with the same id). */
  ping(id: number): void;
  /** The process left a ping unanswered for `silentMs`; the watch has stopped. */
  onSilent(silentMs: number): void;
  /** PING_INTERVAL_MS unless told. */
  intervalMs?: number;
  /** PING_DEADLINE_MS unless told. */
  deadlineMs?: number;
}

/**
 * Pings every interval, one ping in flight at a time, and calls `onSilent` once a ping has
 * gone unanswered for the deadline. The silence is counted in this process's own ticks as well as
 * in milliseconds, so a flowctl that was itself stopped or suspended (its timers late) does not
 * blame the process for its own pause.
 */
export class LivenessWatch {
  readonly #options: LivenessWatchOptions;
  readonly #intervalMs: number;
  readonly #deadlineMs: number;
  readonly #timer: ReturnType<typeof setInterval>;
  #nextId = 0;
  #waiting: { id: number; sentAt: number; ticks: number } | undefined;
  #stopped = false;

  constructor(options: LivenessWatchOptions) {
    this.#options = options;
    this.#intervalMs = options.intervalMs ?? PING_INTERVAL_MS;
    this.#deadlineMs = options.deadlineMs ?? PING_DEADLINE_MS;
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    this.#tick();
  }

  /** The process answered ping `id`. */
  answered(id: number): void {
    if (this.#waiting?.id === id) this.#waiting = undefined;
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }

  #tick(): void {
    if (this.#stopped) return;
    const deadlineMs = this.#deadlineMs;
    const waiting = this.#waiting;
    if (!waiting) {
      const id = this.#nextId++;
      this.#waiting = { id, sentAt: performance.now(), ticks: 0 };
      this.#options.ping(id);
      return;
    }
    waiting.ticks++;
    const silentMs = performance.now() - waiting.sentAt;
    if (waiting.ticks * this.#intervalMs >= deadlineMs && silentMs >= deadlineMs) {
      this.stop();
      this.#options.onSilent(Math.round(silentMs));
    }
  }
}
