import { assert, assertEquals } from "../../tests/assert.ts";
import { LineBuffer, MAX_LINE_BYTES, prefixLines } from "./line_buffer.ts";

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

Deno.test("LineBuffer splits an endless line at the cap and never holds more than the cap", () => {
  const buffer = new LineBuffer();
  const chunk = new Uint8Array(64 * 1024).fill(0x61); // "a", as a pipe delivers it
  const total = 10 * 1024 * 1024;
  let passed = 0;
  let pieces = 0;
  for (let pushed = 0; pushed < total; pushed += chunk.length) {
    const out = buffer.push(chunk);
    assert(buffer.heldBytes <= MAX_LINE_BYTES, `holds ${buffer.heldBytes} bytes`);
    for (const piece of text(out).split("\n").slice(0, -1)) {
      assertEquals(piece.length, MAX_LINE_BYTES);
      pieces++;
    }
    passed += out.length;
  }
  const tail = buffer.flush();
  passed += tail.length;
  const expectedPieces = Math.ceil(total / MAX_LINE_BYTES);
  assertEquals(pieces + (tail.length > 0 ? 1 : 0), expectedPieces);
  assertEquals(passed, total + expectedPieces, "every byte once, plus one newline per piece");
});

Deno.test("LineBuffer splits long lines within one chunk and keeps lines of exactly the cap", () => {
  const buffer = new LineBuffer({ maxLineBytes: 4 });
  assertEquals(text(buffer.push(bytes("abcdefghij\nabcd\nxy"))), "abcd\nefgh\nij\nabcd\n");
  assertEquals(text(buffer.push(bytes("zw"))), "");
  assertEquals(buffer.heldBytes, 4);
  assertEquals(text(buffer.push(bytes("\n"))), "xyzw\n");
  assertEquals(text(buffer.push(bytes("abcd"))), "");
  assertEquals(text(buffer.push(bytes("e\n"))), "abcd\ne\n");
  assertEquals(text(buffer.push(bytes("a\nbcdefghi\nj\nk"))), "a\nbcde\nfghi\nj\n");
  assertEquals(text(buffer.push(bytes("lmnopqr"))), "klmn\n");
  assertEquals(buffer.heldBytes, 4);
  assertEquals(text(buffer.flush()), "opqr\n");
});

Deno.test("LineBuffer splits between UTF-8 characters", () => {
  const buffer = new LineBuffer({ maxLineBytes: 5 });
  assertEquals(text(buffer.push(bytes("ééé"))), "éé\n"); // 2-byte characters: a piece of 4
  assertEquals(text(buffer.flush()), "é\n");
  assertEquals(text(buffer.push(bytes("a🙂🙂\n"))), "a🙂\n🙂\n"); // 4-byte characters
});

Deno.test("prefixLines() prefixes every line", () => {
  assertEquals(text(prefixLines(bytes("a\n\nb\n"), bytes("x | "))), "x | a\nx | \nx | b\n");
});
