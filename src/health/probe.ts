/** One-shot health probes: HTTP GET expecting 2xx, or a TCP connect. */

export interface ProbeResult {
  ok: boolean;
  /** Why the probe failed, for transition messages. */
  reason?: string;
}

export interface ProbeOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

/** GETs `http://hostname:port/path`; healthy on any 2xx. The body is always consumed. */
export async function probeHttp(
  target: { hostname: string; port: number; path: string },
  options: ProbeOptions,
): Promise<ProbeResult> {
  const host = target.hostname.includes(":") ? `[${target.hostname}]` : target.hostname;
  const url = `http://${host}:${target.port}${
    target.path.startsWith("/") ? "" : "/"
  }${target.path}`;
  const signals = [
    AbortSignal.timeout(options.timeoutMs),
    ...(options.signal ? [options.signal] : []),
  ];
  try {
    const response = await fetch(url, { signal: AbortSignal.any(signals) });
    await response.body?.cancel();
    return response.ok
      ? { ok: true }
      : { ok: false, reason: `GET ${target.path} returned ${response.status}` };
  } catch (error) {
    return { ok: false, reason: `GET ${target.path} failed: ${describeFetchError(error)}` };
  }
}

/** Opens and closes a TCP connection to `hostname:port`. */
export async function probeTcp(
  target: { hostname: string; port: number },
  options: ProbeOptions,
): Promise<ProbeResult> {
  const signals = [
    AbortSignal.timeout(options.timeoutMs),
    ...(options.signal ? [options.signal] : []),
  ];
  try {
    const connection = await Deno.connect({
      hostname: target.hostname,
      port: target.port,
      signal: AbortSignal.any(signals),
    });
    connection.close();
    return { ok: true };
  } catch (error) {
    return {
      ok: false,
      reason: `TCP connect to port ${target.port} failed: ${describeFetchError(error)}`,
    };
  }
}

function describeFetchError(error: unknown): string {
  if (
    error instanceof DOMException && (error.name === "TimeoutError" || error.name === "AbortError")
  ) {
    return "timed out";
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/refused/i.test(message)) return "connection refused";
  return message.split("\n")[0] ?? message;
}
