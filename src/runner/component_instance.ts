/**
 * One start of a component: its handle, when it started, whether it has exited, and the copying
 * of its output, line by line, to its log file and the console.
 */
import { getLogger } from "@logtape/logtape";
import { LineBuffer } from "../logs/line_buffer.ts";
import type { ComponentHandle } from "../orchestrator/orchestrator.ts";
import type { ComponentSnapshot, ReplicaSnapshot, RunnerEvent } from "./events.ts";

const logger = getLogger(["flowctl", "runner"]);

/** Where whole lines of a component's output go. */
export type LineSink = (lines: Uint8Array) => void;

export class ComponentInstance {
  readonly componentId: string;
  readonly handle: ComponentHandle;
  readonly startedAt = Date.now();
  #exited = false;
  readonly #pumps: Promise<void>[];

  /** Begins copying the output of `handle`, just started, to `sink`. */
  constructor(componentId: string, handle: ComponentHandle, sink: LineSink) {
    this.componentId = componentId;
    this.handle = handle;
    handle.exited.finally(() => this.#exited = true);
    this.#pumps = [this.#pump(handle.stdout, sink), this.#pump(handle.stderr, sink)];
  }

  /** Whether its process or container has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Resolves once its output has been copied to the end. */
  async drained(): Promise<void> {
    await Promise.all(this.#pumps);
  }

  /** The `component_started` event of this start. */
  startedEvent(): RunnerEvent {
    const handle = this.handle;
    return {
      type: "component_started",
      component: this.componentId,
      ...(handle.pid !== undefined ? { pid: handle.pid } : {}),
      ...(handle.containerId !== undefined ? { containerId: handle.containerId } : {}),
      ...(handle.taskId !== undefined ? { taskId: handle.taskId } : {}),
    };
  }

  /** What `flowctl status` shows of this start. */
  snapshot(): Pick<
    ComponentSnapshot,
    "pid" | "pidStartTime" | "containerId" | "address" | "replicas"
  > {
    const handle = this.handle;
    const replicas = handle.replicas && handle.replicas.length > 1 ? handle.replicas : undefined;
    return {
      ...(handle.pid !== undefined ? { pid: handle.pid } : {}),
      ...(handle.pidStartTime !== undefined ? { pidStartTime: handle.pidStartTime } : {}),
      ...(handle.containerId !== undefined ? { containerId: handle.containerId } : {}),
      ...(handle.address !== undefined ? { address: handle.address } : {}),
      ...(replicas ? { replicas: replicas.map(instanceOf) } : {}),
    };
  }

  async #pump(stream: ReadableStream<Uint8Array>, sink: LineSink): Promise<void> {
    const buffer = new LineBuffer();
    const deliver = (lines: Uint8Array) => {
      if (lines.length > 0) sink(lines);
    };
    try {
      for await (const chunk of stream) deliver(buffer.push(chunk));
    } catch (error) {
      logger.debug("Output stream of {component} ended: {error}", {
        component: this.componentId,
        error,
      });
    }
    deliver(buffer.flush());
  }
}

/** What status and the state file keep of one replica. */
function instanceOf(handle: ComponentHandle): ReplicaSnapshot {
  return {
    ...(handle.pid !== undefined ? { pid: handle.pid } : {}),
    ...(handle.pidStartTime !== undefined ? { pidStartTime: handle.pidStartTime } : {}),
    ...(handle.containerId !== undefined ? { containerId: handle.containerId } : {}),
  };
}
