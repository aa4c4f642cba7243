import { assertEquals } from "../../tests/assert.ts";
import { goawayAfterSettings, goawayFrame, withoutClientGoaway } from "./h2_frames.ts";

const PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

function frame(type: number, flags: number, stream: number, payload: number[]): Uint8Array {
  const out = new Uint8Array(9 + payload.length);
  out.set([payload.length >> 16, (payload.length >> 8) & 0xff, payload.length & 0xff, type, flags]);
  new DataView(out.buffer).setUint32(5, stream);
  out.set(payload, 9);
  return out;
}

const SETTINGS = frame(0x4, 0, 0, [0, 3, 0, 0, 0, 100]);
const SETTINGS_ACK = frame(0x4, 1, 0, []);
const HEADERS = frame(0x1, 0x4, 1, [0x82, 0x86]);
const DATA = frame(0x0, 0x1, 1, [1, 2, 3, 4, 5]);
const CLIENT_GOAWAY = goawayFrame(0, 0, "");

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Runs `bytes` through `transform`, cut into chunks of `size` bytes. */
async function through(
  transform: TransformStream<Uint8Array, Uint8Array>,
  bytes: Uint8Array,
  size: number,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.slice(at, at + size));
  const out: Uint8Array[] = [];
  await ReadableStream.from(chunks).pipeThrough(transform).pipeTo(
    new WritableStream({ write: (chunk) => void out.push(chunk) }),
  );
  return concat(...out);
}

Deno.test("goawayAfterSettings() puts one GOAWAY admitting every stream right after the server's first SETTINGS, however the bytes are cut", async () => {
  const server = concat(SETTINGS, SETTINGS_ACK, HEADERS, DATA);
  const expected = concat(
    SETTINGS,
    goawayFrame(0x7fff_ffff, 0, "flowctl: reconnect"),
    SETTINGS_ACK,
    HEADERS,
    DATA,
  );
  for (const size of [1, 5, 9, 10, 15, server.length]) {
    let told = 0;
    const out = await through(goawayAfterSettings(() => told++), server, size);
    assertEquals(out, expected, `chunks of ${size} bytes`);
    assertEquals(told, 1);
  }
});

Deno.test("withoutClientGoaway() passes the preface and every frame but the client's GOAWAY", async () => {
  const client = concat(PREFACE, SETTINGS, HEADERS, DATA, CLIENT_GOAWAY);
  for (const size of [1, 7, 24, 30, client.length]) {
    const out = await through(withoutClientGoaway(), client, size);
    assertEquals(out, concat(PREFACE, SETTINGS, HEADERS, DATA), `chunks of ${size} bytes`);
  }
});

Deno.test("withoutClientGoaway() passes bytes that are no HTTP/2 as they are", async () => {
  const http1 = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  assertEquals(await through(withoutClientGoaway(), http1, 3), http1);
});
