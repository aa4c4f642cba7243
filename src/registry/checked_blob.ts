/**
 * A blob as it streams from the registry, hashed (sha256) and counted on the way, so its digest
 * is known once the last byte went through, without holding the blob.
 */
import { createHash, type Hash } from "node:crypto";

/** Called with the bytes received so far, at most once per MiB. */
export type OnBytes = (received: number) => void;

export class CheckedBlob {
  /** The blob's bytes for one consumer; what it leaves unread is hashed by `drain()`. */
  readonly stream: ReadableStream<Uint8Array<ArrayBuffer>>;
  readonly #body: ReadableStream<Uint8Array<ArrayBuffer>>;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>>;
  readonly #hash: Hash = createHash("sha256");
  readonly #limit: number;
  readonly #tooLarge: () => Error;
  #received = 0;

  /**
   * @param limit bytes the blob may have; one more is an error (`tooLarge()`), so an endless
   * answer cannot fill the disk.
   */
  constructor(
    body: ReadableStream<Uint8Array<ArrayBuffer>>,
    options: { limit: number; tooLarge(): Error; onBytes?: OnBytes },
  ) {
    this.#body = body;
    this.#reader = body.getReader();
    this.#limit = options.limit;
    this.#tooLarge = options.tooLarge;
    let reported = 0;
    this.stream = new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull: async (controller) => {
        const { done, value } = await this.#reader.read();
        if (done) return controller.close();
        this.#take(value);
        if (this.#received - reported >= 1 << 20) {
          reported = this.#received;
          options.onBytes?.(this.#received);
        }
        controller.enqueue(value);
      },
    }, { highWaterMark: 0 });
  }

  get received(): number {
    return this.#received;
  }

  /** `sha256:<hex>` of everything received; call after `drain()`. */
  digest(): string {
    return `sha256:${this.#hash.digest("hex")}`;
  }

  /**
   * Reads and hashes what the consumer left (bytes after a tar's end, or all the rest after a
   * failure), then releases the body.
   */
  async drain(): Promise<void> {
    try {
      for (let r = await this.#reader.read(); !r.done; r = await this.#reader.read()) {
        this.#take(r.value);
      }
    } finally {
      this.#reader.releaseLock();
      await this.#body.cancel().catch(() => {});
    }
  }

  #take(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.#received += chunk.byteLength;
    if (this.#received > this.#limit) throw this.#tooLarge();
  }
}
