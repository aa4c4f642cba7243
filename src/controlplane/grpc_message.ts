/**
 * `grpc-message` as the gRPC spec encodes it: only bytes outside printable ASCII, and `%`, are
 * percent-encoded, so `;`, `"`, `:` and spaces reach a grpc-js client as they were written.
 * Connect encodes the whole message with encodeURIComponent (`;` arrives as `%3B`).
 */
import type * as http2 from "node:http2";

const encoder = new TextEncoder();

/** `message` percent-encoded as the gRPC spec asks (PROTOCOL-HTTP2.md, "Status-Message"). */
export function encodeGrpcMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const code = message.charCodeAt(i);
    if (code < 0x20 || code > 0x7e || code === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  let out = "";
  for (const byte of encoder.encode(message)) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export type NodeHandler = (
  request: http2.Http2ServerRequest,
  response: http2.Http2ServerResponse,
) => void;

/** `handler`, with every `grpc-message` it writes (headers or trailers) encoded per the spec. */
export function readableGrpcMessages(handler: NodeHandler): NodeHandler {
  return (request, response) => {
    const addTrailers = response.addTrailers;
    response.addTrailers = (trailers) => addTrailers.call(response, reencoded(trailers));
    const writeHead = response.writeHead as (
      this: http2.Http2ServerResponse,
      status: number,
      headers?: http2.OutgoingHttpHeaders,
    ) => http2.Http2ServerResponse;
    response.writeHead = ((status: number, headers?: http2.OutgoingHttpHeaders) =>
      writeHead.call(
        response,
        status,
        headers && reencoded(headers),
      )) as typeof response.writeHead;
    handler(request, response);
  };
}

function reencoded<T extends Record<string, unknown>>(headers: T): T {
  const message = headers["grpc-message"];
  if (typeof message !== "string" || !message.includes("%")) return headers;
  let decoded: string;
  try {
    decoded = decodeURIComponent(message);
  } catch {
    return headers;
  }
  return { ...headers, "grpc-message": encodeGrpcMessage(decoded) };
}
