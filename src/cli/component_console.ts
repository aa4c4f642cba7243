/** Component output on the console: `id | line`, ids padded, a colour per component on a TTY. */
import { prefixLines } from "../logs/line_buffer.ts";
import { type Output, paint } from "./output.ts";

/** Component output on the console, each line prefixed with its component's padded id. */
export class ComponentConsole {
  readonly #prefixes = new Map<string, Uint8Array>();
  readonly #out: Output;

  constructor(ids: readonly string[], out: Output) {
    this.#out = out;
    const width = Math.max(...ids.map((id) => id.length));
    const encoder = new TextEncoder();
    ids.forEach((id, index) => {
      const label = id.padEnd(width);
      this.#prefixes.set(id, encoder.encode(`${out.color ? paint(label, index) : label} | `));
    });
  }

  /** Writes whole lines of component `id`, each prefixed. */
  write(id: string, lines: Uint8Array): void {
    const prefix = this.#prefixes.get(id);
    if (prefix) this.#out.raw(prefixLines(lines, prefix));
  }
}
