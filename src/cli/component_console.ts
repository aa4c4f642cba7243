/** Component output on the console: `id | line`, ids padded, a colour per component on a TTY. */
import { prefixLines } from "../logs/line_buffer.ts";
import { type Output, paint } from "./output.ts";

/** Component output on the console, each line prefixed with its component's padded id. */
export class ComponentConsole {
  readonly #prefixes = new Map<string, Uint8Array>();
  readonly #out: Output;
  readonly #width: number;

  constructor(ids: readonly string[], out: Output) {
    this.#out = out;
    this.#width = Math.max(...ids.map((id) => id.length));
    ids.forEach((id) => this.#prefix(id));
  }

  /** Writes whole lines of component `id`, each prefixed. */
  write(id: string, lines: Uint8Array): void {
    this.#out.raw(prefixLines(lines, this.#prefix(id)));
  }

  /** The prefix of `id`; a component added later (`run --watch`) gets the next colour. */
  #prefix(id: string): Uint8Array {
    let prefix = this.#prefixes.get(id);
    if (!prefix) {
      const label = id.padEnd(this.#width);
      const index = this.#prefixes.size;
      prefix = new TextEncoder().encode(`${this.#out.color ? paint(label, index) : label} | `);
      this.#prefixes.set(id, prefix);
    }
    return prefix;
  }
}
