import { assertEquals } from "../../tests/assert.ts";
import { goawayFrame, RelayHandover } from "./relay_handover.ts";

const PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

function frame(type: number, flags: number, stream: number, payload: number[] = []): Uint8Array {
  const out = new Uint8Array(9 + payload.length);
  out.set([payload.length >> 16, (payload.length >> 8) & 0xff, payload.length & 0xff, type, flags]);
  new DataView(out.buffer).setUint32(5, stream);
  out.set(payload, 9);
  return out;
}

const SETTINGS = frame(0x4, 0, 0, [0, 3, 0, 0, 0, 100]);
const SETTINGS_ACK = frame(0x4, 1, 0);
/** A call on stream 1: its request headers, and its request body with END_STREAM. */
const REQUEST = [frame(0x1, 0x4, 1, [0x82, 0x86]), frame(0x0, 0x1, 1, [0, 0, 0, 0, 0])];
const RESPONSE = frame(0x1, 0x4, 1, [0x88]);
const TRAILERS = frame(0x1, 0x5, 1, [0x40]);
const RST = frame(0x3, 0, 1, [0, 0, 0, 0]);
const CALLER_GOAWAY = goawayFrame(0, 0, "");
const GOAWAY = goawayFrame(0x7fff_ffff, 0, "flowctl: reconnect");

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Pushes `parts` through `stream` one by one, each cut into chunks of `size` bytes. */
async function feed(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  parts: Uint8Array[],
  size: number,
): Promise<void> {
  for (const bytes of parts) {
    for (let at = 0; at < bytes.length; at += size) await writer.write(bytes.slice(at, at + size));
  }
}

/** Everything a readable gave until it closed. */
async function drain(readable: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const out: Uint8Array[] = [];
  for await (const chunk of readable) out.push(chunk);
  return concat(...out);
}

Deno.test("RelayHandover tells the caller to go once its call is answered and it stayed idle a moment, however the bytes are cut", async () => {
  for (const size of [1, 5, 9, 10, 64]) {
    const told = Promise.withResolvers<number>();
    const handover = new RelayHandover(() => told.resolve(performance.now()));
    const up = handover.fromCaller();
    const down = handover.toCaller();
    const upOut = drain(up.readable);
    const downOut = drain(down.readable);
    const upIn = up.writable.getWriter();
    const downIn = down.writable.getWriter();
    await feed(upIn, [PREFACE, SETTINGS, ...REQUEST], size);
    await feed(downIn, [SETTINGS, SETTINGS_ACK, RESPONSE, TRAILERS], size);
    const answered = performance.now();
    const idleMs = (await told.promise) - answered;
    assertEquals(idleMs >= 90 && idleMs < 1_000, true, `told ${idleMs} ms after the answer`);
    await feed(upIn, [CALLER_GOAWAY], size);
    await Promise.all([upIn.close(), downIn.close()]);
    handover.close();
    assertEquals(await upOut, concat(PREFACE, SETTINGS, ...REQUEST), "the caller's GOAWAY is kept");
    assertEquals(await downOut, concat(SETTINGS, SETTINGS_ACK, RESPONSE, TRAILERS, GOAWAY));
  }
});

/** A handover fed `fromCaller` and `fromProcess`: what the caller got, once it was told to go. */
async function toCallerOf(
  fromCaller: Uint8Array[],
  fromProcess: Uint8Array[],
): Promise<Uint8Array> {
  const told = Promise.withResolvers<void>();
  const handover = new RelayHandover(() => told.resolve());
  const up = handover.fromCaller();
  const down = handover.toCaller();
  const upOut = drain(up.readable);
  const downOut = drain(down.readable);
  const upIn = up.writable.getWriter();
  const downIn = down.writable.getWriter();
  await feed(upIn, fromCaller, 64);
  await feed(downIn, fromProcess, 64);
  await told.promise;
  await Promise.all([upIn.close(), downIn.close(), upOut]);
  handover.close();
  return await downOut;
}

Deno.test("RelayHandover tells a caller with no call to go soon after the process's SETTINGS", async () => {
  assertEquals(
    await toCallerOf([PREFACE, SETTINGS], [SETTINGS, SETTINGS_ACK]),
    concat(SETTINGS, SETTINGS_ACK, GOAWAY),
  );
});

Deno.test("RelayHandover tells a caller whose upload the process refused and reset to go after the reset", async () => {
  assertEquals(
    await toCallerOf([PREFACE, SETTINGS, REQUEST[0]!], [SETTINGS, RESPONSE, TRAILERS, RST]),
    concat(SETTINGS, RESPONSE, TRAILERS, RST, GOAWAY),
  );
});

Deno.test("RelayHandover passes bytes that are no HTTP/2 as they are", async () => {
  const http1 = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const handover = new RelayHandover(() => {});
  const up = handover.fromCaller();
  const out = drain(up.readable);
  const writer = up.writable.getWriter();
  await feed(writer, [http1], 3);
  await writer.close();
  assertEquals(await out, http1);
});

Deno.test("RelayHandover tells a caller whose call stays open to go after a second all the same", async () => {
  const told = Promise.withResolvers<number>();
  const handover = new RelayHandover(() => told.resolve(performance.now()));
  const up = handover.fromCaller();
  const down = handover.toCaller();
  const upOut = drain(up.readable);
  const downOut = drain(down.readable);
  const upIn = up.writable.getWriter();
  const downIn = down.writable.getWriter();
  await feed(upIn, [PREFACE, SETTINGS, REQUEST[0]!], 64);
  const start = performance.now();
  await feed(downIn, [SETTINGS, RESPONSE], 64);
  const after = (await told.promise) - start;
  assertEquals(after >= 900 && after < 5_000, true, `told after ${after} ms`);
  await Promise.all([upIn.close(), downIn.close(), upOut]);
  handover.close();
  assertEquals(await downOut, concat(SETTINGS, RESPONSE, GOAWAY));
});
