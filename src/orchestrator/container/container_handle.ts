/** A started container: its demultiplexed output, its exit from the engine, its stop. */
import { getLogger } from "@logtape/logtape";
import type { Component } from "../../config/mod.ts";
import { delay } from "../../delay.ts";
import type { DockerClient } from "../../docker/docker_client.ts";
import { DockerUnavailableError } from "../../docker/docker_errors.ts";
import { StoppableHandle } from "../_handle.ts";
import type { ComponentHandle, ExitStatus, StopOptions } from "../orchestrator.ts";
import { ENGINE_RETURN_MS } from "./engine_retry.ts";

const logger = getLogger(["flowctl", "docker"]);

/** A started container: its demultiplexed output, its exit from the engine, its stop. */
export class ContainerHandle extends StoppableHandle implements ComponentHandle {
  readonly componentId: string;
  readonly containerId: string;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly exited: Promise<ExitStatus>;
  readonly #docker: DockerClient;
  readonly #component: Component;
  readonly address: string | undefined;

  constructor(
    docker: DockerClient,
    component: Component,
    id: string,
    address: string | undefined,
    streams: { stdout: ReadableStream<Uint8Array>; stderr: ReadableStream<Uint8Array> },
  ) {
    super();
    this.#docker = docker;
    this.#component = component;
    this.componentId = component.id;
    this.containerId = id;
    this.address = address;
    this.stdout = streams.stdout;
    this.stderr = streams.stderr;
    this.exited = this.#wait();
  }

  /**
   * Waits for the container to stop. When the engine goes away (restarted), waits for it to come
   * back for up to ENGINE_RETURN_MS, then asks how the container ended.
   */
  async #wait(): Promise<ExitStatus> {
    let unreachableSince: number | undefined;
    while (true) {
      try {
        const code = await this.#docker.waitContainer(this.containerId);
        return { code, signal: code === 137 ? "SIGKILL" : code === 143 ? "SIGTERM" : null };
      } catch (error) {
        if (!(error instanceof DockerUnavailableError) && !(error instanceof TypeError)) {
          logger.debug("Waiting for {container} failed: {error}", {
            container: this.containerId,
            error,
          });
        }
      }
      const inspect = await this.#docker.inspectContainer(this.containerId).then(
        (result) => ({ answered: true as const, result }),
        () => ({ answered: false as const }),
      );
      if (inspect.answered) {
        unreachableSince = undefined;
        if (!inspect.result) return { code: 137, signal: "SIGKILL" }; // removed behind our back
        if (!inspect.result.State.Running) {
          const code = inspect.result.State.ExitCode;
          return { code, signal: code === 137 ? "SIGKILL" : code === 143 ? "SIGTERM" : null };
        }
      } else {
        unreachableSince ??= Date.now();
        if (Date.now() - unreachableSince > ENGINE_RETURN_MS) {
          return { code: 137, signal: "SIGKILL" };
        }
      }
      await delay(250);
    }
  }

  probeAddress(port: number) {
    const published = this.#component.ports.find((p) =>
      p.containerPort === port && p.hostPort !== undefined
    );
    if (published?.hostPort !== undefined) {
      return {
        hostname: published.hostIp === "0.0.0.0" ? "127.0.0.1" : published.hostIp,
        port: published.hostPort,
      };
    }
    return {
      hostname: this.#component.networkMode === "host" ? "127.0.0.1" : this.address ?? "127.0.0.1",
      port,
    };
  }

  protected async stopOnce({ graceMs, force }: StopOptions): Promise<ExitStatus> {
    const docker = this.#docker;
    if (graceMs <= 0 || force?.aborted) {
      await docker.killContainer(this.containerId).catch(() => {});
    } else {
      const onForce = () => docker.killContainer(this.containerId).catch(() => {});
      force?.addEventListener("abort", onForce, { once: true });
      try {
        await docker.stopContainer(this.containerId, Math.ceil(graceMs / 1000));
      } catch (error) {
        logger.debug("Stopping {container} failed: {error}", {
          container: this.containerId,
          error,
        });
        await docker.killContainer(this.containerId).catch(() => {});
      } finally {
        force?.removeEventListener("abort", onForce);
      }
    }
    const exit = await this.exited;
    await docker.removeContainer(this.containerId).catch(() => {});
    return exit;
  }
}
