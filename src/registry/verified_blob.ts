/**
 * A blob downloaded to a file and checked before anything uses it: its size may not pass the
 * manifest's, and its sha256 must be the digest the manifest names. Only then is the file handed
 * out (to be unpacked), so nothing a registry sent is applied unverified.
 */
import { createHash } from "node:crypto";

/** Called with the bytes received so far, at most once per MiB. */
export type OnBytes = (received: number) => void;

export interface DownloadOptions {
  /** `sha256:<hex>` the bytes must hash to. */
  digest: string;
  /** Bytes the blob has; one more is an error, so an endless answer cannot fill the disk. */
  size: number;
  signal?: AbortSignal | undefined;
  onBytes?: OnBytes;
}

/** Why a download is refused: the caller turns it into its own message. */
export type DownloadProblem =
  | { kind: "too-large" }
  | { kind: "mismatch"; digest: string; received: number };

/**
 * Writes `body` to `path` (a new file, mode 0600), hashing and counting as it goes.
 * @returns undefined when the file holds exactly the expected blob, else the problem (and the
 * file is removed).
 */
export async function downloadVerified(
  body: ReadableStream<Uint8Array>,
  path: string,
  options: DownloadOptions,
): Promise<DownloadProblem | undefined> {
  const hash = createHash("sha256");
  let received = 0;
  let reported = 0;
  let problem: DownloadProblem | undefined;
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  try {
    for await (const chunk of body) {
      options.signal?.throwIfAborted();
      received += chunk.byteLength;
      if (received > options.size) {
        problem = { kind: "too-large" };
        break; // leaving the loop cancels the body
      }
      hash.update(chunk);
      for (let offset = 0; offset < chunk.byteLength;) {
        offset += await file.write(chunk.subarray(offset));
      }
      if (received - reported >= 1 << 20) {
        reported = received;
        options.onBytes?.(received);
      }
    }
  } finally {
    file.close();
  }
  const digest = `sha256:${hash.digest("hex")}`;
  if (!problem && (digest !== options.digest || received !== options.size)) {
    problem = { kind: "mismatch", digest, received };
  }
  if (problem) await Deno.remove(path).catch(() => {});
  return problem;
}
