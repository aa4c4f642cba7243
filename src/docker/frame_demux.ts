/**
 * Demultiplexes the engine's attach/logs stream for containers without a TTY: each frame is an
 * 8-byte header (stream type, 3 zero bytes, big-endian payload length) and the payload.
 */

/** Splits `source` into stdout (type 1) and stderr (type 2) streams. */
export function demuxFrames(source: ReadableStream<Uint8Array>): {
  stdout: ReadableStream<Uint8Array>;
  stderr: ReadableStream<Uint8Array>;
} {
  let stdoutController!: ReadableStreamDefaultController<Uint8Array>;
  let stderrController!: ReadableStreamDefaultController<Uint8Array>;
  const stdout = new ReadableStream<Uint8Array>({ start: (c) => void (stdoutController = c) });
  const stderr = new ReadableStream<Uint8Array>({ start: (c) => void (stderrController = c) });
  (async () => {
    let pending: Uint8Array = new Uint8Array(0);
    try {
      for await (const chunk of source) {
        pending = pending.length ? concat(pending, chunk) : chunk;
        while (pending.length >= 8) {
          const size = new DataView(pending.buffer, pending.byteOffset, 8).getUint32(4);
          if (pending.length < 8 + size) break;
          const payload = pending.slice(8, 8 + size);
          (pending[0] === 2 ? stderrController : stdoutController).enqueue(payload);
          pending = pending.subarray(8 + size);
        }
      }
    } catch {
      // the connection ended; what arrived was delivered
    } finally {
      stdoutController.close();
      stderrController.close();
    }
  })();
  return { stdout, stderr };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
