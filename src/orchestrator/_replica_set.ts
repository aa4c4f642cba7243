/**
 * `replicas: N`: the N instances of one component behind one handle, so the runner keeps one
 * supervisor per component. Output is merged line by line, the component has exited when every
 * instance has, and stopping it stops them all.
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
  const pump = async (reader: ReadableStreamDefaultReader<Uint8Array>) => {
    const lines = new LineBuffer();
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        const whole = lines.push(value);
        if (whole.length > 0) controller.enqueue(whole);
      }
      const tail = lines.flush();
      if (tail.length > 0) controller.enqueue(tail);
    } finally {
      reader.releaseLock();
    }
  };
  return new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      Promise.allSettled(readers.map(pump)).then(() => {
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
