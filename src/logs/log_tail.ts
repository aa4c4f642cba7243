/** The last lines of a log file, for failure reports. */

/** Reads up to `count` last lines of `path` (from its last 64 KiB); empty when unreadable. */
export async function readLogTail(path: string, count: number): Promise<string[]> {
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(path, { read: true });
    const size = (await file.stat()).size;
    const length = Math.min(size, 64 * 1024);
    await file.seek(size - length, Deno.SeekMode.Start);
    const buffer = new Uint8Array(length);
    let read = 0;
    while (read < length) {
      const n = await file.read(buffer.subarray(read));
      if (n === null) break;
      read += n;
    }
    const lines = new TextDecoder().decode(buffer.subarray(0, read)).split("\n");
    if (lines.at(-1) === "") lines.pop();
    return lines.slice(-count);
  } catch {
    return [];
  } finally {
    file?.close();
  }
}
