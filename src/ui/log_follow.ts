/**
 * A component's log for the dashboard's panel: its last lines, then each new whole line as it is
 * written (the file is polled; a file that shrank was replaced, and is read from its start).
 */
import { delay } from "../delay.ts";

/** Lines shown when a panel opens. */
export const TAIL_LINES = 200;
const POLL_MS = 250;
/** The most read at once; a faster log is shown from its newest part. */
const MAX_READ_BYTES = 256 * 1024;

/**
 * Sends the last `TAIL_LINES` lines of `path` to `onLines`, then every new line until `signal`
 * aborts. A missing file counts as empty until it appears.
 */
export async function followLog(
  path: string,
  onLines: (lines: string[]) => void,
  options: { signal: AbortSignal },
): Promise<void> {
  let offset = Math.max(0, size(path) - MAX_READ_BYTES);
  let partial = "";
  let first = true;
  const decoder = new TextDecoder();
  while (!options.signal.aborted) {
    const now = size(path);
    if (now < offset) {
      offset = 0;
      partial = "";
    }
    if (now > offset) {
      const start = Math.max(offset, now - MAX_READ_BYTES);
      const bytes = await readRange(path, start, now - start);
      offset = start + bytes.length;
      const text = partial + decoder.decode(bytes);
      const lines = text.split("\n");
      partial = lines.pop() ?? "";
      onLines(first ? lines.slice(-TAIL_LINES) : lines);
      first = false;
    } else if (first) {
      onLines([]);
      first = false;
    }
    await delay(POLL_MS, { signal: options.signal });
  }
}

function size(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

async function readRange(path: string, start: number, length: number): Promise<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  await file.seek(start, Deno.SeekMode.Start);
  const buffer = new Uint8Array(length);
  let read = 0;
  while (read < length) {
    const count = await file.read(buffer.subarray(read));
    if (count === null) break;
    read += count;
  }
  return buffer.subarray(0, read);
}
