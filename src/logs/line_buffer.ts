/**
 * Cuts a byte stream into whole lines: complete lines pass on, a partial tail waits. Lines longer
 * than a cap are split, so memory stays bounded and every byte is copied a bounded number of times.
 */

const NEWLINE = 10;
const NEWLINE_BYTES = new Uint8Array([NEWLINE]);

/** Longest line kept whole (bytes, without its newline); longer ones are split into pieces. */
export const MAX_LINE_BYTES = 64 * 1024;

export interface LineBufferOptions {
  /** Longest line kept whole; default {@link MAX_LINE_BYTES}. */
  maxLineBytes?: number;
}

/** Splits a byte stream into whole lines, holding at most one capped partial line. */
export class LineBuffer {
  readonly #max: number;
  /** Holds the unterminated tail; grows as needed, never beyond `#max` bytes. */
  #held: Uint8Array | undefined;
  #heldLength = 0;

  constructor(options: LineBufferOptions = {}) {
    this.#max = options.maxLineBytes ?? MAX_LINE_BYTES;
    if (!Number.isInteger(this.#max) || this.#max < 4) {
      throw new RangeError(`maxLineBytes "${this.#max}" must be a whole number of at least 4`);
    }
  }

  /** Bytes of the unterminated tail held until its line ends. */
  get heldBytes(): number {
    return this.#heldLength;
  }

  /**
   * Returns the bytes of every line completed by `chunk` (possibly empty). A line longer than
   * the cap is passed on in pieces of at most the cap, each ended with a newline, split between
   * UTF-8 characters where one ends within three bytes of the cap.
   */
  push(chunk: Uint8Array): Uint8Array {
    const out = new Segments();
    const first = chunk.indexOf(NEWLINE);
    if (first < 0) {
      this.#holdPartial(out, chunk, 0, chunk.length);
      return out.join();
    }
    this.#addLine(out, chunk, 0, first);
    const last = chunk.lastIndexOf(NEWLINE);
    if (last - first - 1 <= this.#max) {
      // No line between the first and last newline can be over the cap: pass them on at once.
      out.add(chunk.subarray(first + 1, last + 1));
    } else {
      for (let start = first + 1; start <= last;) {
        const newline = chunk.indexOf(NEWLINE, start);
        this.#addLine(out, chunk, start, newline);
        start = newline + 1;
      }
    }
    this.#holdPartial(out, chunk, last + 1, chunk.length);
    return out.join();
  }

  /** Adds the held bytes and `chunk[start..newline]` as a line, in pieces if it is too long. */
  #addLine(out: Segments, chunk: Uint8Array, start: number, newline: number): void {
    const from = this.#addPieces(out, chunk, start, newline);
    out.add(this.#takeHeld());
    out.add(chunk.subarray(from, newline + 1));
  }

  /** Holds `chunk[start..end]` (a line without its end yet), passing on pieces over the cap. */
  #holdPartial(out: Segments, chunk: Uint8Array, start: number, end: number): void {
    this.#hold(chunk.subarray(this.#addPieces(out, chunk, start, end), end));
  }

  /**
   * Passes on pieces of the cap while the held bytes and `chunk[start..end]` are over it;
   * returns where the rest starts.
   */
  #addPieces(out: Segments, chunk: Uint8Array, start: number, end: number): number {
    while (this.#heldLength + (end - start) > this.#max) {
      const cut = this.#cutPoint(chunk, start);
      out.add(this.#takeHeld());
      out.add(chunk.subarray(start, start + cut));
      out.add(NEWLINE_BYTES);
      start += cut;
    }
    return start;
  }

  /** Returns the unterminated tail with a newline added, or nothing. */
  flush(): Uint8Array {
    const out = new Segments();
    out.add(this.#takeHeld());
    if (out.length > 0) out.add(NEWLINE_BYTES);
    return out.join();
  }

  /** How many bytes of `chunk` from `start` complete a piece of the held line at the cap. */
  #cutPoint(chunk: Uint8Array, start: number): number {
    const take = this.#max - this.#heldLength;
    // Back off (at most three bytes) so the next piece does not start inside a character.
    for (let cut = take; cut > 0 && cut >= take - 3; cut--) {
      if (!isContinuationByte(chunk[start + cut] ?? 0)) return cut;
    }
    return take;
  }

  #hold(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const needed = this.#heldLength + bytes.length;
    if (!this.#held || this.#held.length < needed) {
      // Grows by doubling up to the cap: a short partial line costs little memory.
      const grown = new Uint8Array(
        Math.min(this.#max, Math.max(needed, 2 * (this.#held?.length ?? 0), 256)),
      );
      if (this.#held) grown.set(this.#held.subarray(0, this.#heldLength));
      this.#held = grown;
    }
    this.#held.set(bytes, this.#heldLength);
    this.#heldLength = needed;
  }

  /** A copy of the held bytes (the buffer is reused), emptying it. */
  #takeHeld(): Uint8Array {
    if (!this.#held || this.#heldLength === 0) return new Uint8Array(0);
    const bytes = this.#held.slice(0, this.#heldLength);
    this.#heldLength = 0;
    return bytes;
  }
}

function isContinuationByte(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}

/** Pieces of output, joined with one copy at most; neighbouring views of one buffer merge. */
class Segments {
  readonly #parts: Uint8Array[] = [];
  length = 0;

  add(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.length += bytes.length;
    const last = this.#parts.at(-1);
    if (
      last && last.buffer === bytes.buffer && last.byteOffset + last.length === bytes.byteOffset
    ) {
      this.#parts[this.#parts.length - 1] = new Uint8Array(
        last.buffer,
        last.byteOffset,
        last.length + bytes.length,
      );
      return;
    }
    this.#parts.push(bytes);
  }

  join(): Uint8Array {
    if (this.#parts.length === 1) return this.#parts[0] ?? new Uint8Array(0);
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const part of this.#parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
}

/**
 * Inserts `prefix` before every line of `lines` (which ends with a newline).
 * @example prefixLines(bytes("a\nb\n"), bytes("x | ")) // "x | a\nx | b\n"
 */
export function prefixLines(lines: Uint8Array, prefix: Uint8Array): Uint8Array {
  let count = 0;
  for (let i = lines.indexOf(NEWLINE); i >= 0; i = lines.indexOf(NEWLINE, i + 1)) count++;
  const out = new Uint8Array(lines.length + count * prefix.length);
  let from = 0;
  let to = 0;
  for (let i = lines.indexOf(NEWLINE); i >= 0; i = lines.indexOf(NEWLINE, i + 1)) {
    out.set(prefix, to);
    to += prefix.length;
    out.set(lines.subarray(from, i + 1), to);
    to += i + 1 - from;
    from = i + 1;
  }
  return out;
}
