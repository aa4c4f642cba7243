/**
 * HTTP as the registry client speaks it to servers it does not trust: only `http:` and `https:`
 * URLs (for the registry, its token realm and every redirect), redirects followed by hand so
 * that credentials go only to the origin they belong to, a deadline for the answer's headers and
 * another for each read of its body, and bodies read into memory only up to a limit.
 */
import { RegistryError } from "./registry_error.ts";

/** How long a registry may take: to answer a request (headers), and between two body reads. */
export interface RegistryTimeouts {
  answerMs: number;
  idleMs: number;
}

export const DEFAULT_TIMEOUTS: RegistryTimeouts = { answerMs: 30_000, idleMs: 60_000 };

/** Redirects followed for one request (registries redirect blobs to a CDN once or twice). */
const MAX_REDIRECTS = 5;

export interface RegistryFetchOptions {
  /** The image reference, for error messages. */
  reference: string;
  headers?: Record<string, string>;
  /** Sent only while the URL's origin is `authorizationOrigin`. */
  authorization?: string | undefined;
  authorizationOrigin?: string;
  timeouts: RegistryTimeouts;
  signal?: AbortSignal | undefined;
  /** What the request is, for messages: `registry "host"` or `the token service "origin"`. */
  what: string;
}

/**
 * Parses `text` as a URL that the registry client may fetch: `http:` or `https:` only.
 * @throws {RegistryError} naming `what` sent it, for anything else (`file:`, `data:`, …).
 */
export function webUrl(text: string, reference: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw new RegistryError(reference, `${what} is not a URL: "${text}"`, { cause: error });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new RegistryError(
      reference,
      `${what} "${text}" is not an http or https URL; flowctl fetches nothing else`,
    );
  }
  return url;
}

/**
 * GET `url`, following redirects (http/https only; credentials dropped once the origin changes),
 * with the answer due within `timeouts.answerMs` and each body read within `timeouts.idleMs`.
 * The returned body stream carries the idle deadline; consume or cancel it.
 * @throws {RegistryError} for a refused URL, an unreachable server or a deadline passed;
 * the caller's abort reason when `signal` aborts.
 */
export async function registryFetch(url: URL, options: RegistryFetchOptions): Promise<Response> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  let timedOut: string | undefined;
  const expire = (what: string) => () => {
    timedOut = what;
    controller.abort(new DOMException(what, "TimeoutError"));
  };
  const release = () => options.signal?.removeEventListener("abort", onAbort);
  const timer = setTimeout(
    expire(`no answer within ${seconds(options.timeouts.answerMs)}`),
    options.timeouts.answerMs,
  );
  try {
    let current = url;
    for (let hop = 0;; hop++) {
      const sameOrigin = current.origin === options.authorizationOrigin;
      const response = await fetch(current, {
        headers: {
          ...options.headers,
          ...(options.authorization && sameOrigin ? { Authorization: options.authorization } : {}),
        },
        redirect: "manual",
        signal: controller.signal,
      });
      const location = response.headers.get("location");
      if (response.status < 300 || response.status > 399 || location === null) {
        clearTimeout(timer);
        return withIdleDeadline(response, controller, options, release);
      }
      await response.body?.cancel();
      if (hop >= MAX_REDIRECTS) {
        throw new RegistryError(
          options.reference,
          `${options.what} redirected more than ${MAX_REDIRECTS} times`,
        );
      }
      current = webUrl(
        new URL(location, current).href,
        options.reference,
        `a redirect of ${options.what} to`,
      );
    }
  } catch (error) {
    clearTimeout(timer);
    release();
    if (timedOut !== undefined) {
      throw new RegistryError(options.reference, `${options.what}: ${timedOut}`, { cause: error });
    }
    if (options.signal?.aborted || error instanceof RegistryError) throw error;
    throw new RegistryError(
      options.reference,
      `cannot reach ${options.what}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** `response` with a body whose every read must complete within `idleMs`. */
function withIdleDeadline(
  response: Response,
  controller: AbortController,
  options: RegistryFetchOptions,
  release: () => void,
): Response {
  if (!response.body) {
    release();
    return response;
  }
  const reader = response.body.getReader();
  const stalled = () =>
    new RegistryError(
      options.reference,
      `${options.what}: sent nothing for ${seconds(options.timeouts.idleMs)}`,
    );
  const body = new ReadableStream<Uint8Array<ArrayBuffer>>({
    async pull(stream) {
      let idle = false;
      const timer = setTimeout(() => {
        idle = true;
        controller.abort(stalled());
      }, options.timeouts.idleMs);
      try {
        const { done, value } = await reader.read();
        if (done) {
          release();
          stream.close();
        } else stream.enqueue(value);
      } catch (error) {
        release();
        if (idle) throw stalled();
        if (options.signal?.aborted) throw options.signal.reason;
        throw new RegistryError(
          options.reference,
          `${options.what}: the answer broke off: ${(error as Error).message}`,
          { cause: error },
        );
      } finally {
        clearTimeout(timer);
      }
    },
    async cancel(reason) {
      release();
      await reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
  return new Response(body, { status: response.status, headers: response.headers });
}

/**
 * The body of `response`, at most `limit` bytes.
 * @returns undefined (the rest cancelled) when it is longer, so an endless body ends the read.
 */
export async function readAtMost(
  response: Response,
  limit: number,
): Promise<Uint8Array | undefined> {
  if (!response.body) return new Uint8Array();
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > limit) {
    await response.body.cancel();
    return undefined;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > limit) return undefined; // leaving the loop cancels the body
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** The first `limit` bytes of the body as text, the rest cancelled (an error needs no more). */
export async function readTextPrefix(response: Response, limit: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value.subarray(0, limit - size));
      size += Math.min(value.byteLength, limit - size);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const decoder = new TextDecoder();
  return chunks.map((chunk) => decoder.decode(chunk, { stream: true })).join("") + decoder.decode();
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
