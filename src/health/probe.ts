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

/**
 * GETs `http://hostname:port/path` with a minimal HTTP/1.1 request on a fresh connection and
 * reads only the status line; healthy on any 2xx. Lighter than fetch, which matters with many
 * components probed every second.
 */
export async function probeHttp(
  target: { hostname: string; port: number; path: string },
  options: ProbeOptions,
): Promise<ProbeResult> {
  const signal = AbortSignal.any([
    AbortSignal.timeout(options.timeoutMs),
    ...(options.signal ? [options.signal] : []),
  ]);
  const path = target.path.startsWith("/") ? target.path : `/${target.path}`;
  let connection: Deno.TcpConn | undefined;
  const onAbort = () => connection?.close();
  try {
    connection = await Deno.connect({ hostname: target.hostname, port: target.port, signal });
    signal.addEventListener("abort", onAbort, { once: true });
    const host = target.hostname.includes(":") ? `[${target.hostname}]` : target.hostname;
    await writeFully(
      connection,
      encoder.encode(
        `GET ${path} HTTP/1.1\r\nHost: ${host}:${target.port}\r\nUser-Agent: flowctl\r\nConnection: close\r\n\r\n`,
      ),
    );
    const status = await readStatusCode(connection);
    if (status === undefined) return { ok: false, reason: `GET ${path} got no HTTP response` };
    return status >= 200 && status < 300
      ? { ok: true }
      : { ok: false, reason: `GET ${path} returned ${status}` };
  } catch (error) {
    return {
      ok: false,
      reason: `GET ${path} failed: ${signal.aborted ? "timed out" : describeError(error)}`,
    };
  } finally {
    signal.removeEventListener("abort", onAbort);
    try {
      connection?.close();
    } catch {
      // already closed by the abort
    }
  }
}

const encoder = new TextEncoder();

async function writeFully(connection: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await connection.write(bytes.subarray(offset));
}

/** Reads until the end of the status line (`HTTP/1.1 200 OK`) and returns its code. */
async function readStatusCode(connection: Deno.TcpConn): Promise<number | undefined> {
  const buffer = new Uint8Array(256);
  let length = 0;
  while (length < buffer.length) {
    const read = await connection.read(buffer.subarray(length));
    if (read === null) break;
    length += read;
    const text = new TextDecoder().decode(buffer.subarray(0, length));
    const match = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(text);
    if (match) return Number(match[1]);
    if (text.includes("\n")) return undefined;
  }
  return undefined;
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
      reason: `TCP connect to port ${target.port} failed: ${describeError(error)}`,
    };
  }
}

function describeError(error: unknown): string {
  if (
    error instanceof DOMException && (error.name === "TimeoutError" || error.name === "AbortError")
  ) {
    return "timed out";
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/refused/i.test(message)) return "connection refused";
  return message.split("\n")[0] ?? message;
}
