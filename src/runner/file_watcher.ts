/**
 * Tells when files changed, for `run --watch`, by their size, mtime and inode. Polled rather
 * than watched: editors save by renaming a new file over the old one (a watch on the old file
 * is lost with it), and a stat of a few files every 200 ms costs nothing.
 */
import { delay } from "../delay.ts";

/** How often the files are looked at. */
const POLL_MS = 200;

/** What tells one version of the files from the next (a missing file counts as a version). */
export function fingerprint(paths: readonly string[]): string {
  return paths.map((path) => {
    try {
      const info = Deno.statSync(path);
      return `${path}:${info.ino}:${info.size}:${info.mtime?.getTime()}`;
    } catch {
      return `${path}:-`;
    }
  }).join("\n");
}

/**
 * Resolves with the new fingerprint once `paths` no longer match `seen`, or undefined when
 * `signal` aborts.
 */
export async function waitForChange(
  paths: readonly string[],
  seen: string,
  signal: AbortSignal,
): Promise<string | undefined> {
  while (!signal.aborted) {
    const now = fingerprint(paths);
    if (now !== seen) return now;
    await delay(POLL_MS, { signal });
  }
  return undefined;
}
