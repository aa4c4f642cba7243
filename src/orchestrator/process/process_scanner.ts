/** Walks of /proc shared by every component of a process run. */
import { scanProcesses } from "../../proc/process_group.ts";

/**
 * Walks /proc for processes by mark or by output pipe, for every component at once: requests
 * made while a walk is pending share the next one, so stopping n components costs a few
 * walks, not n.
 */
export class ProcessScanner {
  /**
   * Leaders of the components that are running: never escaped, and left out of walks, which
   * keeps a walk's cost to the other processes on the machine instead of growing with n.
   */
  readonly leaders = new Set<number>();
  readonly #markPrefix: string;
  /** When the last walk ended and how long it took: walks take at most half of the time. */
  #lastEnd = 0;
  #lastCost = 0;
  #marks = new Map<string, PromiseWithResolvers<number[]>[]>();
  #pipes = new Map<string, PromiseWithResolvers<number[]>[]>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(markPrefix: string) {
    this.#markPrefix = markPrefix;
  }

  /** Live processes carrying `mark`. */
  marked(mark: string): Promise<number[]> {
    return this.#request(this.#marks, mark);
  }

  /** Live processes other than flowctl holding any of `pipes`. */
  async pipeHolders(pipes: ReadonlySet<string>): Promise<number[]> {
    const found = await Promise.all([...pipes].map((pipe) => this.#request(this.#pipes, pipe)));
    return [...new Set(found.flat())];
  }

  #request(queue: Map<string, PromiseWithResolvers<number[]>[]>, key: string): Promise<number[]> {
    const request = Promise.withResolvers<number[]>();
    const waiting = queue.get(key);
    if (waiting) waiting.push(request);
    else queue.set(key, [request]);
    this.#timer ??= setTimeout(
      () => this.#scan(),
      Math.max(0, this.#lastEnd + this.#lastCost - performance.now()),
    );
    return request.promise;
  }

  #scan(): void {
    this.#timer = undefined;
    const marks = this.#marks;
    const pipes = this.#pipes;
    this.#marks = new Map();
    this.#pipes = new Map();
    const began = performance.now();
    const scan = scanProcesses(
      marks.size > 0 ? this.#markPrefix : undefined,
      new Set(pipes.keys()),
      { skip: this.leaders },
    );
    this.#lastEnd = performance.now();
    this.#lastCost = this.#lastEnd - began;
    for (const [mark, requests] of marks) {
      for (const request of requests) request.resolve(scan.marked.get(mark) ?? []);
    }
    for (const [pipe, requests] of pipes) {
      for (const request of requests) request.resolve(scan.pipeHolders.get(pipe) ?? []);
    }
  }
}
