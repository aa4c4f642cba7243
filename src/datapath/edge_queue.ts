/**
 * The buffer of one driven edge: a bounded FIFO between a producer's reader and a consumer's
 * writer. A live consumer back-pressures its producer (push waits for room). With
 * `dropWhenDown` (a producer that feeds several consumers), a consumer that is down keeps at
 * most `capacity` events and the rest are dropped and counted, so one consumer that is gone does
 * not stall the others beyond its buffer; without it, its producer waits for it.
 */
export class EdgeQueue<T> {
  readonly capacity: number;
  readonly #items: T[] = [];
  #head = 0;
  #closed = false;
  #consumerDown = false;
  /** Events dropped because the consumer was down and the buffer full. */
  dropped = 0;
  /** Whether a full buffer of a consumer that is down drops instead of waiting. */
  dropWhenDown = false;
  #roomWaiters: (() => void)[] = [];
  #dataWaiters: (() => void)[] = [];

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  /** No more events will be pushed (the producer's stream ended). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closed and empty: the consumer has everything. */
  get drained(): boolean {
    return this.#closed && this.length === 0;
  }

  /**
   * Adds `item`, waiting for room while the consumer is live. Resolves false when the item was
   * dropped (consumer down, buffer full).
   */
  async push(item: T): Promise<boolean> {
    while (this.length >= this.capacity) {
      if (this.#consumerDown && this.dropWhenDown) {
        this.dropped++;
        return false;
      }
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
    }
    this.#items.push(item);
    this.#wake(this.#dataWaiters);
    return true;
  }

  /** The next event, or undefined when none is buffered. */
  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    this.#wake(this.#roomWaiters);
    return item;
  }

  /** Resolves once an event is buffered or the queue is closed. */
  readable(): Promise<void> {
    if (this.length > 0 || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#dataWaiters.push(resolve));
  }

  close(): void {
    this.#closed = true;
    this.#wake(this.#dataWaiters);
  }

  /** Marks the consumer down (pushes beyond the buffer drop) or live again. */
  setConsumerDown(down: boolean): void {
    this.#consumerDown = down;
    if (down) this.#wake(this.#roomWaiters);
  }

  #wake(waiters: (() => void)[]): void {
    for (const wake of waiters.splice(0)) wake();
  }
}

/**
 * The events of `queues` merged as they come, each queue's order kept; ends once every queue is
 * drained or `signal` aborts. `onTake` sees each event with the index of its queue.
 */
export async function* mergeQueues<T>(
  queues: readonly EdgeQueue<T>[],
  signal: AbortSignal,
  onTake?: (item: T, index: number) => void,
): AsyncGenerator<T> {
  let next = 0;
  // One listener for the whole merge: a listener per wait would pile up on a long stream.
  const aborted = new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
  while (!signal.aborted) {
    let took = false;
    for (let i = 0; i < queues.length; i++) {
      const index = (next + i) % queues.length;
      const item = queues[index]?.shift();
      if (item !== undefined) {
        next = index + 1;
        took = true;
        onTake?.(item, index);
        yield item;
        break;
      }
    }
    if (took) continue;
    if (queues.every((q) => q.drained)) return;
    await Promise.race([...queues.map((q) => q.readable()), aborted]);
  }
}
