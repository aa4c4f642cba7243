/**
 * `replicas: N`: the N instances of one component behind one handle, so the runner keeps one
 * supervisor per component. Output is merged line by line, each line tagged with its replica
 * (`[2] …`), the component has exited when every instance has, and stopping it stops them all.
 */
import { LineBuffer } from "../logs/line_buffer.ts";
import type { ComponentHandle, ExitStatus, StopOptions } from "./orchestrator.ts";

export class ReplicaSetHandle implements ComponentHandle {
  readonly componentId: string;
  readonly replicas: readonly ComponentHandle[];
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly exited: Promise<ExitStatus>;
  /** Replica 1's process or container, for status and the state file. */
  readonly pid?: number;
  readonly pidStartTime?: number | undefined;
  readonly containerId?: string;

  /** @param replicas the started instances, replica 1 first; at least one. */
  constructor(replicas: readonly ComponentHandle[]) {
    const first = replicas[0];
    if (!first) throw new RangeError("a replica set needs at least one replica");
    this.componentId = first.componentId;
    this.replicas = replicas;
    if (first.pid !== undefined) this.pid = first.pid;
    this.pidStartTime = first.pidStartTime;
    if (first.containerId !== undefined) this.containerId = first.containerId;
    this.stdout = mergeLines(replicas.map((r) => r.stdout));
    this.stderr = mergeLines(replicas.map((r) => r.stderr));
    // The first failure is the component's failure; all exited 0 is a clean finish.
    this.exited = Promise.all(replicas.map((r) => r.exited)).then((all) =>
      all.find((exit) => exit.code !== 0 || exit.signal !== null) ?? all[0] ?? first.exited
    );
  }

  /** Health is probed on replica 1: all replicas run the same program with the same config. */
  probeAddress(port: number): { hostname: string; port: number } {
    const first = this.replicas[0];
    if (!first) throw new RangeError("a replica set needs at least one replica");
    return first.probeAddress(port);
  }

  async stop(options: StopOptions): Promise<ExitStatus> {
    await Promise.allSettled(this.replicas.map((r) => r.stop(options)));
    return await this.exited;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop({ graceMs: 0 });
  }
}

/** One stream of the whole lines of several; each source's unfinished tail comes at its end. */
function mergeLines(sources: readonly ReadableStream<Uint8Array>[]): ReadableStream<Uint8Array> {
  if (sources.length === 1 && sources[0]) return sources[0];
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const readers = sources.map((source) => source.getReader());
  const pump = async (reader: ReadableStreamDefaultReader<Uint8Array>, index: number) => {
    const lines = new LineBuffer();
    const tag = new TextEncoder().encode(`[${index + 1}] `);
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        const whole = lines.push(value);
        if (whole.length > 0) controller.enqueue(tagLines(whole, tag));
      }
      const tail = lines.flush();
      if (tail.length > 0) controller.enqueue(tagLines(tail, tag));
    } finally {
      reader.releaseLock();
    }
  };
  return new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      Promise.allSettled(readers.map((reader, i) => pump(reader, i))).then(() => {
        try {
          controller.close();
        } catch {
          // cancelled by the reader: already closed
        }
      });
    },
    async cancel(reason) {
      await Promise.allSettled(readers.map((reader) => reader.cancel(reason)));
    },
  });
}

/** `lines` (whole lines, or a last unfinished one) with `tag` before each line. */
export function tagLines(lines: Uint8Array, tag: Uint8Array): Uint8Array {
  const starts = [0];
  for (let i = 0; i < lines.length - 1; i++) if (lines[i] === 0x0a) starts.push(i + 1);
  const tagged = new Uint8Array(lines.length + starts.length * tag.length);
  let at = 0;
  for (const [n, start] of starts.entries()) {
    const end = starts[n + 1] ?? lines.length;
    tagged.set(tag, at);
    tagged.set(lines.subarray(start, end), at + tag.length);
    at += tag.length + end - start;
  }
  return tagged;
}
