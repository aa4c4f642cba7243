/**
 * Just enough HTTP/2 framing for flowctl's relay of early connections (port_holder.ts): split a
 * connection's bytes at frame boundaries, so the relay can tell the caller to reconnect (a
 * GOAWAY after the server's first SETTINGS frame) and keep the caller's own GOAWAY from the
 * control plane process. Frames are passed on unchanged; HPACK state is never touched.
 */

/** What an HTTP/2 client sends first (RFC 9113 §3.4). */
const CLIENT_PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const FRAME_HEADER_BYTES = 9;
const SETTINGS = 0x4;
const GOAWAY = 0x7;
const NO_ERROR = 0;
/** The highest stream id: a GOAWAY with it refuses no stream the caller already sent. */
const ANY_STREAM = 0x7fff_ffff;

/** The frames of one direction of a connection, as they complete. */
class FrameSplitter {
  #pending: Uint8Array = new Uint8Array(0);
  #prefaceLeft: boolean;
  /** Set once the bytes are not HTTP/2: from then on they pass as they come. */
  #opaque = false;

  constructor(options: { preface: boolean }) {
    this.#prefaceLeft = options.preface;
  }

  /** The whole frames (or unframed bytes) that `chunk` completes, in order. */
  push(chunk: Uint8Array): { type: number | undefined; bytes: Uint8Array }[] {
    if (this.#opaque) return [{ type: undefined, bytes: chunk }];
    this.#pending = concat(this.#pending, chunk);
    const out: { type: number | undefined; bytes: Uint8Array }[] = [];
    if (this.#prefaceLeft) {
      const seen = this.#pending.subarray(0, CLIENT_PREFACE.length);
      if (!seen.every((byte, i) => byte === CLIENT_PREFACE[i])) return this.#giveUp();
      if (seen.length < CLIENT_PREFACE.length) return out;
      out.push({ type: undefined, bytes: seen });
      this.#pending = this.#pending.subarray(CLIENT_PREFACE.length);
      this.#prefaceLeft = false;
    }
    while (this.#pending.length >= FRAME_HEADER_BYTES) {
      const p = this.#pending;
      const length = (p[0]! << 16) | (p[1]! << 8) | p[2]!;
      const end = FRAME_HEADER_BYTES + length;
      if (p.length < end) break;
      out.push({ type: p[3]!, bytes: p.subarray(0, end) });
      this.#pending = p.subarray(end);
    }
    return out;
  }

  #giveUp(): { type: undefined; bytes: Uint8Array }[] {
    this.#opaque = true;
    const bytes = this.#pending;
    this.#pending = new Uint8Array(0);
    return [{ type: undefined, bytes }];
  }
}

/**
 * Caller → control plane process: passes every frame but the caller's GOAWAY. The caller sends
 * one as it closes the connection the relay told it to leave; the process only sees the
 * connection end (Deno's nghttp2 can abort on a client's GOAWAY, denoland/deno#36788).
 */
export function withoutClientGoaway(): TransformStream<Uint8Array, Uint8Array> {
  const frames = new FrameSplitter({ preface: true });
  return new TransformStream({
    transform(chunk, controller) {
      for (const frame of frames.push(chunk)) {
        if (frame.type !== GOAWAY) controller.enqueue(frame.bytes);
      }
    },
  });
}

/**
 * Control plane process → caller: passes every frame and, right after the server's connection
 * preface (its first SETTINGS frame), a GOAWAY that admits every stream: calls the caller already
 * sent are answered on this connection, and it makes new ones on a new connection, which reaches
 * the process directly. `onGoaway` is told once it went out.
 */
export function goawayAfterSettings(onGoaway: () => void): TransformStream<Uint8Array, Uint8Array> {
  const frames = new FrameSplitter({ preface: false });
  let sent = false;
  return new TransformStream({
    transform(chunk, controller) {
      for (const frame of frames.push(chunk)) {
        controller.enqueue(frame.bytes);
        if (!sent && frame.type === SETTINGS) {
          sent = true;
          controller.enqueue(goawayFrame(ANY_STREAM, NO_ERROR, "flowctl: reconnect"));
          onGoaway();
        }
      }
    },
  });
}

/** A GOAWAY frame (RFC 9113 §6.8) with `debug` as its opaque data. */
export function goawayFrame(lastStreamId: number, errorCode: number, debug: string): Uint8Array {
  const data = new TextEncoder().encode(debug);
  const length = 8 + data.length;
  const frame = new Uint8Array(FRAME_HEADER_BYTES + length);
  const view = new DataView(frame.buffer);
  view.setUint8(0, length >> 16);
  view.setUint16(1, length & 0xffff);
  view.setUint8(3, GOAWAY);
  // flags 0, stream 0
  view.setUint32(FRAME_HEADER_BYTES, lastStreamId & ANY_STREAM);
  view.setUint32(FRAME_HEADER_BYTES + 4, errorCode);
  frame.set(data, FRAME_HEADER_BYTES + 8);
  return frame;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
