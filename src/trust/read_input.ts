/**
 * Reading the files a user names as input (the pipeline file, `.env`, `env_file`): only regular
 * files, bounded in size and in time. A FIFO or a device is refused before it is opened (opening
 * a FIFO blocks until someone writes; a device may never end), so flowctl stays responsive to
 * Ctrl+C and SIGTERM whatever a file turns out to be.
 */

/** How long reading one input file may take (a regular file on a healthy disk: milliseconds). */
export const INPUT_READ_TIMEOUT_MS = 10_000;

/** The file is not something flowctl reads, or could not be read in time; the message says why. */
export class InputFileError extends Error {
  override name = "InputFileError";
}

/** What `info` is, in words, when it is not a regular file. */
function notRegular(info: Deno.FileInfo): string | undefined {
  if (info.isFile) return undefined;
  if (info.isDirectory) return "is a folder, not a file";
  if (info.isFifo) return "is a FIFO (named pipe), not a regular file";
  if (info.isCharDevice || info.isBlockDevice) return "is a device, not a regular file";
  if (info.isSocket) return "is a socket, not a regular file";
  return "is not a regular file";
}

/**
 * The bytes of regular file `path`, at most `limit` of them; a synchronous read (for parsers
 * that read `env_file`s as they go), safe because nothing but a regular file is opened.
 * @throws {InputFileError} for anything but a regular file, or more than `limit` bytes.
 * @throws {Deno.errors.NotFound} when it does not exist.
 */
export function readInputFileSync(path: string, limit: number): Uint8Array {
  const problem = notRegular(Deno.statSync(path));
  if (problem) throw new InputFileError(problem);
  using file = Deno.openSync(path, { read: true });
  // Checked again on what was opened: a swap between the two looks is refused too.
  const opened = notRegular(file.statSync());
  if (opened) throw new InputFileError(opened);
  const buffer = new Uint8Array(limit + 1);
  let filled = 0;
  while (filled < buffer.length) {
    const count = file.readSync(buffer.subarray(filled));
    if (count === null) break;
    filled += count;
  }
  if (filled > limit) throw new InputFileError(`is larger than ${limit} bytes`);
  return buffer.subarray(0, filled);
}

/**
 * The bytes of regular file `path`, at most `limit` of them, within `timeoutMs`.
 * @throws {InputFileError} for anything but a regular file, more than `limit` bytes, or a read
 * that did not finish in time.
 * @throws {Deno.errors.NotFound} when it does not exist.
 */
export async function readInputFile(
  path: string,
  limit: number,
  timeoutMs = INPUT_READ_TIMEOUT_MS,
): Promise<Uint8Array> {
  const problem = notRegular(await Deno.stat(path));
  if (problem) throw new InputFileError(problem);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new InputFileError(`could not be read within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([readBounded(path, limit), late]);
  } finally {
    clearTimeout(timer);
  }
}

async function readBounded(path: string, limit: number): Promise<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  const opened = notRegular(await file.stat());
  if (opened) throw new InputFileError(opened);
  const buffer = new Uint8Array(limit + 1);
  let filled = 0;
  while (filled < buffer.length) {
    const count = await file.read(buffer.subarray(filled));
    if (count === null) break;
    filled += count;
  }
  if (filled > limit) throw new InputFileError(`is larger than ${limit} bytes`);
  return buffer.subarray(0, filled);
}
