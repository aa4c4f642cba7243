/**
 * Ctrl+C, SIGTERM and SIGHUP handling: the first asks for a graceful stop, the second forces it.
 *
 * One keypress can arrive twice: the terminal sends Ctrl+C to the whole foreground process group,
 * and a launcher in that group (`deno task`, `npm run`) forwards its copy too, a fraction of a
 * millisecond later. A signal within `DUPLICATE_WINDOW_MS` of the first is taken as that same one.
 */
import { getLogger } from "@logtape/logtape";

const logger = getLogger(["flowctl", "signals"]);
const SIGNALS: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** How long after the first signal another one counts as the same keypress. */
export const DUPLICATE_WINDOW_MS = 300;

export interface ShutdownSignals extends Disposable {
  /** Aborted by the first signal. */
  stop: AbortSignal;
  /** Aborted by a second signal that came more than the duplicate window after the first. */
  force: AbortSignal;
}

export interface ShutdownSignalsOptions {
  onFirst(signal: Deno.Signal): void;
  onSecond(signal: Deno.Signal): void;
  /** Called for a signal taken as a copy of the first, with how long after it it came. */
  onDuplicate?(signal: Deno.Signal, afterMs: number): void;
  /** Defaults to `DUPLICATE_WINDOW_MS`. */
  duplicateWindowMs?: number;
  /** A millisecond clock; defaults to `performance.now`. */
  now?: () => number;
}

/** Installs the handlers; disposing removes them. */
export function installShutdownSignals(options: ShutdownSignalsOptions): ShutdownSignals {
  const windowMs = options.duplicateWindowMs ?? DUPLICATE_WINDOW_MS;
  const now = options.now ?? (() => performance.now());
  const stop = new AbortController();
  const force = new AbortController();
  let firstAt = 0;
  const handlers = SIGNALS.map((signal) => {
    const handler = () => {
      if (!stop.signal.aborted) {
        firstAt = now();
        options.onFirst(signal);
        stop.abort(signal);
      } else if (!force.signal.aborted) {
        const afterMs = now() - firstAt;
        if (afterMs <= windowMs) {
          logger.debug("Took {signal} {afterMs} ms after the first signal as the same one", {
            signal,
            afterMs: Math.round(afterMs),
          });
          options.onDuplicate?.(signal, afterMs);
          return;
        }
        options.onSecond(signal);
        force.abort(signal);
      }
    };
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  return {
    stop: stop.signal,
    force: force.signal,
    [Symbol.dispose]() {
      for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    },
  };
}
