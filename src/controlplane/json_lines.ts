/** One JSON value per line over a pipe, both ways, for flowctl and its control plane process. */

const encoder = new TextEncoder();

/** The lines of `stream` as they arrive, without their newlines. */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      yield buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
    }
  }
  if (buffered) yield buffered;
}

/**
 * Writes lines to `stream` in order, each batch in one write; a write to a pipe whose reader is
 * gone fails quietly (the other process died, and its supervisor deals with that).
 */
export class LineWriter {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #chain: Promise<void> = Promise.resolve();
  #broken = false;

  constructor(stream: WritableStream<Uint8Array>) {
    this.#writer = stream.getWriter();
  }

  /** Writes `values` as lines; resolves once they are in the pipe. */
  write(values: readonly unknown[]): Promise<void> {
    if (values.length === 0 || this.#broken) return this.#chain;
    const text = values.map((value) => `${JSON.stringify(value)}\n`).join("");
    this.#chain = this.#chain.then(() => this.#writer.write(encoder.encode(text))).catch(() => {
      this.#broken = true;
    });
    return this.#chain;
  }

  /** Ends the stream once what was written has gone. */
  async close(): Promise<void> {
    await this.#chain;
    await this.#writer.close().catch(() => {});
  }
}
