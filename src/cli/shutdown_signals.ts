/** Ctrl+C, SIGTERM and SIGHUP handling: the first asks for a graceful stop, the second forces it. */

const SIGNALS: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

export interface ShutdownSignals extends Disposable {
  /** Aborted by the first signal. */
  stop: AbortSignal;
  /** Aborted by the second signal. */
  force: AbortSignal;
}

/** Installs the handlers; disposing removes them. */
export function installShutdownSignals(callbacks: {
  onFirst(signal: Deno.Signal): void;
  onSecond(signal: Deno.Signal): void;
}): ShutdownSignals {
  const stop = new AbortController();
  const force = new AbortController();
  const handlers = SIGNALS.map((signal) => {
    const handler = () => {
      if (!stop.signal.aborted) {
        callbacks.onFirst(signal);
        stop.abort(signal);
      } else if (!force.signal.aborted) {
        callbacks.onSecond(signal);
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
