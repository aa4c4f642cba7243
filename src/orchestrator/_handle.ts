/** What the handles of every orchestrator share: one stop at a time, and the set of live ones. */
import type { ComponentHandle, ExitStatus, StopOptions } from "./orchestrator.ts";

/** Makes `stop()` idempotent and disposal an immediate stop; subclasses stop once. */
export abstract class StoppableHandle implements AsyncDisposable {
  #stopping: Promise<ExitStatus> | undefined;

  stop(options: StopOptions): Promise<ExitStatus> {
    this.#stopping ??= this.stopOnce(options);
    return this.#stopping;
  }

  protected abstract stopOnce(options: StopOptions): Promise<ExitStatus>;

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop({ graceMs: 0 });
  }
}

/** The handles of a run whose component has not exited yet; disposal kills them all. */
export class LiveHandles<T extends ComponentHandle> {
  readonly #handles = new Set<T>();

  add(handle: T): T {
    this.#handles.add(handle);
    handle.exited.finally(() => this.#handles.delete(handle));
    return handle;
  }

  /** Stops every live handle at once; failures are returned, not thrown. */
  async killAll(): Promise<unknown[]> {
    const results = await Promise.allSettled(
      [...this.#handles].map((handle) => handle.stop({ graceMs: 0 })),
    );
    return results.flatMap((result) => result.status === "rejected" ? [result.reason] : []);
  }
}

/** Output of a handle that has none (nothing ran, or nothing can be read). */
export function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() });
}
