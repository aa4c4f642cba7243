import { assertEquals } from "../../tests/assert.ts";
import { demuxFrames } from "./frame_demux.ts";

function frame(type: number, text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + payload.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(4, payload.length);
  out.set(payload, 8);
  return out;
}

async function read(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += new TextDecoder().decode(chunk);
  return text;
}

Deno.test("demuxFrames() splits frames cut at any byte into stdout and stderr", async () => {
  const bytes = new Uint8Array([
    ...frame(1, "out 1\n"),
    ...frame(2, "err 1\n"),
    ...frame(1, "out 2\n"),
  ]);
  for (const cut of [1, 3, 8, 9, 13, bytes.length]) {
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += cut) controller.enqueue(bytes.slice(i, i + cut));
        controller.close();
      },
    });
    const { stdout, stderr } = demuxFrames(source);
    assertEquals(await Promise.all([read(stdout), read(stderr)]), ["out 1\nout 2\n", "err 1\n"]);
  }
});
