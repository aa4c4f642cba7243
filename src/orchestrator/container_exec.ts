/**
 * Runs a command inside a running container through the Engine exec API: create the exec, start
 * it on a hijacked connection (raw HTTP/1.1 upgrade, so stdin can flow in and be half-closed),
 * copy its output out, and read its exit code from `/exec/{id}/json`.
 */
import * as v from "valibot";
import { delay } from "../delay.ts";
import type { DockerClient } from "../docker/docker_client.ts";
import { DockerApiError } from "../docker/docker_errors.ts";
import { demuxFrames } from "../docker/frame_demux.ts";

const IdSchema = v.looseObject({ Id: v.string() });
const ExecInspectSchema = v.looseObject({ Running: v.boolean(), ExitCode: v.nullable(v.number()) });

export interface ContainerExecOptions {
  /** Allocate a TTY: output is not multiplexed and stdout carries everything. */
  tty?: boolean;
  /** Bytes for the command's stdin; its end closes the command's stdin. */
  stdin?: ReadableStream<Uint8Array>;
  onStdout?(bytes: Uint8Array): void;
  onStderr?(bytes: Uint8Array): void;
  /** Terminal size `[rows, columns]` for a TTY. */
  consoleSize?: [number, number];
  /** Aborting it closes the connection; the exec's exit code is then not awaited. */
  signal?: AbortSignal;
}

/**
 * Runs `command` in container `containerId` and returns its exit code.
 * @throws {DockerApiError} when the engine refuses (container not running, command not found).
 */
export async function execInContainer(
  docker: DockerClient,
  containerId: string,
  command: readonly string[],
  options: ContainerExecOptions = {},
): Promise<number> {
  const { signal } = options;
  const tty = options.tty ?? false;
  const { Id: execId } = await docker.json(IdSchema, "POST", `/containers/${containerId}/exec`, {
    json: {
      AttachStdin: options.stdin !== undefined,
      AttachStdout: true,
      AttachStderr: true,
      Tty: tty,
      Cmd: command,
    },
    ...(signal ? { signal } : {}),
  });
  const conn = await connectEngine(docker.host);
  const onAbort = () => closeQuietly(conn);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const body = JSON.stringify({
      Detach: false,
      Tty: tty,
      ...(options.consoleSize ? { ConsoleSize: options.consoleSize } : {}),
    });
    await writeAll(
      conn,
      new TextEncoder().encode(
        `POST /v${docker.apiVersion}/exec/${execId}/start HTTP/1.1\r\nHost: docker\r\n` +
          `Content-Type: application/json\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n` +
          `Content-Length: ${new TextEncoder().encode(body).length}\r\n\r\n${body}`,
      ),
    );
    const { status, rest } = await readResponseHead(conn);
    if (status !== 101 && status !== 200) {
      throw new DockerApiError(status, "POST", `/exec/${execId}/start`, "exec could not start");
    }
    const output = streamFrom(conn, rest);
    // Not awaited: a terminal's stdin stays open after the command ended; closing ends the copy.
    if (options.stdin) copyStdin(options.stdin, conn).catch(() => {});
    if (tty) {
      for await (const chunk of output) options.onStdout?.(chunk);
    } else {
      const { stdout, stderr } = demuxFrames(output);
      await Promise.all([
        drain(stdout, options.onStdout),
        drain(stderr, options.onStderr),
      ]);
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    closeQuietly(conn);
  }
  signal?.throwIfAborted();
  return await exitCodeOf(docker, execId, signal);
}

/** The exit code of a finished exec; the engine may need a moment to record it. */
async function exitCodeOf(
  docker: DockerClient,
  execId: string,
  signal: AbortSignal | undefined,
): Promise<number> {
  for (let attempt = 0;; attempt++) {
    const inspect = await docker.json(ExecInspectSchema, "GET", `/exec/${execId}/json`);
    if (!inspect.Running && inspect.ExitCode !== null) return inspect.ExitCode;
    if (attempt > 200) {
      throw new DockerApiError(200, "GET", `/exec/${execId}/json`, "the exec never finished");
    }
    await delay(Math.min(5 * (attempt + 1), 50), { signal });
    signal?.throwIfAborted();
  }
}

type EngineConn = Deno.UnixConn | Deno.TcpConn;

async function connectEngine(host: string): Promise<EngineConn> {
  if (host.startsWith("unix://")) {
    return await Deno.connect({ transport: "unix", path: host.slice("unix://".length) });
  }
  const url = new URL(host.replace(/^tcp:\/\//, "http://"));
  return await Deno.connect({ hostname: url.hostname, port: Number(url.port || 2375) });
}

/** Reads the status line and headers; returns the status and the bytes that followed them. */
async function readResponseHead(conn: EngineConn): Promise<{ status: number; rest: Uint8Array }> {
  let buffer: Uint8Array = new Uint8Array(0);
  const chunk = new Uint8Array(4096);
  while (true) {
    const read = await conn.read(chunk);
    if (read === null) throw new DockerApiError(0, "POST", "/exec/start", "the engine hung up");
    buffer = concat(buffer, chunk.subarray(0, read));
    const end = indexOfHeadEnd(buffer);
    if (end >= 0) {
      const head = new TextDecoder().decode(buffer.subarray(0, end));
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      return { status, rest: buffer.slice(end + 4) };
    }
    if (buffer.length > 65536) {
      throw new DockerApiError(
        0,
        "POST",
        "/exec/start",
        "the engine's answer has no end of headers",
      );
    }
  }
}

function indexOfHeadEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

/** The connection's remaining bytes as a stream, starting with `first`. */
function streamFrom(conn: EngineConn, first: Uint8Array): ReadableStream<Uint8Array> {
  let sentFirst = first.length === 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!sentFirst) {
        sentFirst = true;
        controller.enqueue(first);
        return;
      }
      const chunk = new Uint8Array(16384);
      let read: number | null = null;
      try {
        read = await conn.read(chunk);
      } catch {
        // closed by an abort
      }
      if (read === null) controller.close();
      else controller.enqueue(chunk.slice(0, read));
    },
  });
}

async function copyStdin(stdin: ReadableStream<Uint8Array>, conn: EngineConn): Promise<void> {
  for await (const chunk of stdin) await writeAll(conn, chunk);
  await conn.closeWrite();
}

async function drain(
  stream: ReadableStream<Uint8Array>,
  sink: ((bytes: Uint8Array) => void) | undefined,
): Promise<void> {
  for await (const chunk of stream) sink?.(chunk);
}

async function writeAll(conn: EngineConn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

function closeQuietly(conn: EngineConn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
