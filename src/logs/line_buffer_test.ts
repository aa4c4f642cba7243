import { assertEquals } from "../../tests/assert.ts";
import { LineBuffer, prefixLines } from "./line_buffer.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

Deno.test("LineBuffer passes only whole lines and flushes the tail", () => {
  const buffer = new LineBuffer();
  assertEquals(text(buffer.push(bytes("par"))), "");
  assertEquals(text(buffer.push(bytes("tial\nnext\nhal"))), "partial\nnext\n");
  assertEquals(text(buffer.push(bytes("f\n"))), "half\n");
  assertEquals(text(buffer.push(bytes("end"))), "");
  assertEquals(text(buffer.flush()), "end\n");
  assertEquals(text(buffer.flush()), "");
});

Deno.test("prefixLines() prefixes every line", () => {
  assertEquals(text(prefixLines(bytes("a\n\nb\n"), bytes("x | "))), "x | a\nx | \nx | b\n");
});
