/**
 * A delay that ends early, without throwing, when `options.signal` aborts (shared by every
 * layer). The signal is an option as in std's `delay(ms, { signal })`; unlike std's, an abort
 * resolves instead of rejecting, because every caller treats "stopped" as "done waiting".
 */
export function delay(
  ms: number,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<void> {
  const { signal } = options;
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
