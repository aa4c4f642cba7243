/** Cuts a byte stream into whole lines: complete lines pass on, a partial tail waits. */

const NEWLINE = 10;

export class LineBuffer {
  #pending: Uint8Array = new Uint8Array(0);

  /** Returns the bytes of every line completed by `chunk` (possibly empty). */
  push(chunk: Uint8Array): Uint8Array {
    const last = chunk.lastIndexOf(NEWLINE);
    if (last < 0) {
      this.#pending = concat(this.#pending, chunk);
      return new Uint8Array(0);
    }
    const complete = this.#pending.length > 0
      ? concat(this.#pending, chunk.subarray(0, last + 1))
      : chunk.subarray(0, last + 1);
    this.#pending = chunk.slice(last + 1);
    return complete;
  }

  /** Returns the unterminated tail with a newline added, or nothing. */
  flush(): Uint8Array {
    if (this.#pending.length === 0) return this.#pending;
    const line = concat(this.#pending, new Uint8Array([NEWLINE]));
    this.#pending = new Uint8Array(0);
    return line;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
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
