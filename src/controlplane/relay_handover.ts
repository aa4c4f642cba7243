/**
 * Just enough HTTP/2 for flowctl's relay of early connections (port_holder.ts) to end: it splits
 * both directions at frame boundaries, follows which streams are open, and once the caller has had
 * no call open for a moment (or after a second of calls that keep overlapping) tells it to go (a
 * GOAWAY that admits every stream), so its next calls reach the control plane process directly.
 * Frames pass unchanged, and the caller's own GOAWAY is kept from the process; HPACK is never
 * touched.
 */

/** What an HTTP/2 client sends first (RFC 9113 §3.4). */
const CLIENT_PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const FRAME_HEADER_BYTES = 9;
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const GOAWAY = 0x7;
const END_STREAM = 0x1;
const NO_ERROR = 0;
/** The highest stream id: a GOAWAY with it refuses no stream the caller sent before it. */
const ANY_STREAM = 0x7fff_ffff;
/**
 * How long the caller must have had no call open before it is told to go. A GOAWAY in the same
 * read as a call's last frames can cost the call in some clients (Deno's `node:http2` client
 * destroys the stream with `ECANCELED` when the server also reset it), so the caller gets a moment
 * to take the answer first.
 */
const IDLE_MS = 100;
/** How long calls that keep overlapping may delay the GOAWAY. */
const BUSY_MS = 1_000;

interface Frame {
  /** undefined: the client preface, or bytes that are no HTTP/2. */
  type: number | undefined;
  flags: number;
  stream: number;
  bytes: Uint8Array;
}

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
  push(chunk: Uint8Array): Frame[] {
    if (this.#opaque) return [unframed(chunk)];
    this.#pending = concat(this.#pending, chunk);
    const out: Frame[] = [];
    if (this.#prefaceLeft) {
      const seen = this.#pending.subarray(0, CLIENT_PREFACE.length);
      if (!seen.every((byte, i) => byte === CLIENT_PREFACE[i])) {
        this.#opaque = true;
        return [unframed(this.#pending)];
      }
      if (seen.length < CLIENT_PREFACE.length) return out;
      out.push(unframed(seen));
      this.#pending = this.#pending.subarray(CLIENT_PREFACE.length);
      this.#prefaceLeft = false;
    }
    while (this.#pending.length >= FRAME_HEADER_BYTES) {
      const p = this.#pending;
      const end = FRAME_HEADER_BYTES + ((p[0]! << 16) | (p[1]! << 8) | p[2]!);
      if (p.length < end) break;
      const stream = new DataView(p.buffer, p.byteOffset + 5, 4).getUint32(0) & ANY_STREAM;
      out.push({ type: p[3]!, flags: p[4]!, stream, bytes: p.subarray(0, end) });
      this.#pending = p.subarray(end);
    }
    return out;
  }
}

/**
 * One relayed connection's way to the process: `fromCaller` and `toCaller` go between the two
 * sockets; `onGoaway` is told once the caller was told to go.
 */
export class RelayHandover {
  /** Open streams: whether the caller and the process have ended each. */
  readonly #open = new Map<number, { caller: boolean; process: boolean }>();
  readonly #onGoaway: () => void;
  #toCaller: TransformStreamDefaultController<Uint8Array> | undefined;
  /** The process's connection preface (its first SETTINGS) went to the caller. */
  #processReady = false;
  #sent = false;
  #busy: ReturnType<typeof setTimeout> | undefined;
  #idle: ReturnType<typeof setTimeout> | undefined;

  constructor(onGoaway: () => void) {
    this.#onGoaway = onGoaway;
  }

  /** Caller → process: every frame but the caller's GOAWAY (the process only sees the end). */
  fromCaller(): TransformStream<Uint8Array, Uint8Array> {
    const frames = new FrameSplitter({ preface: true });
    return new TransformStream({
      transform: (chunk, controller) => {
        for (const frame of frames.push(chunk)) {
          if (frame.type !== GOAWAY) controller.enqueue(frame.bytes);
          this.#follow(frame, "caller");
        }
        this.#sendWhenIdle();
      },
    });
  }

  /** Process → caller: every frame, and the GOAWAY once the caller has no call open. */
  toCaller(): TransformStream<Uint8Array, Uint8Array> {
    const frames = new FrameSplitter({ preface: false });
    return new TransformStream({
      start: (controller) => void (this.#toCaller = controller),
      transform: (chunk, controller) => {
        for (const frame of frames.push(chunk)) {
          controller.enqueue(frame.bytes);
          this.#follow(frame, "process");
          if (frame.type === SETTINGS && !this.#processReady) {
            this.#processReady = true;
            this.#busy = setTimeout(() => this.#send(), BUSY_MS);
          }
        }
        this.#sendWhenIdle();
      },
    });
  }

  /** Forgets its timers (the connection ended). */
  close(): void {
    clearTimeout(this.#busy);
    clearTimeout(this.#idle);
  }

  #follow(frame: Frame, side: "caller" | "process"): void {
    if (frame.type === RST_STREAM) return void this.#open.delete(frame.stream);
    if (frame.type !== HEADERS && frame.type !== DATA) return;
    let stream = this.#open.get(frame.stream);
    if (!stream && side === "caller" && frame.type === HEADERS) {
      stream = { caller: false, process: false };
      this.#open.set(frame.stream, stream);
      clearTimeout(this.#idle);
      this.#idle = undefined;
    }
    if (!stream || (frame.flags & END_STREAM) === 0) return;
    stream[side] = true;
    if (stream.caller && stream.process) this.#open.delete(frame.stream);
  }

  #sendWhenIdle(): void {
    if (!this.#processReady || this.#open.size > 0 || this.#idle || this.#sent) return;
    this.#idle = setTimeout(() => {
      this.#idle = undefined;
      if (this.#open.size === 0) this.#send();
    }, IDLE_MS);
  }

  /** The whole frames sent so far end at a frame boundary, so the GOAWAY can go in between. */
  #send(): void {
    if (this.#sent || !this.#toCaller) return;
    this.#sent = true;
    this.close();
    try {
      this.#toCaller.enqueue(goawayFrame(ANY_STREAM, NO_ERROR, "flowctl: reconnect"));
    } catch {
      return; // the connection is gone
    }
    this.#onGoaway();
  }
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

function unframed(bytes: Uint8Array): Frame {
  return { type: undefined, flags: 0, stream: 0, bytes };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
