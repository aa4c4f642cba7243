/** A component's swarm task as a handle: its output from the task logs, its end, its stop. */
import { getLogger } from "@logtape/logtape";
import type { Component } from "../../config/mod.ts";
import { delay } from "../../delay.ts";
import type { DockerClient } from "../../docker/docker_client.ts";
import { demuxFrames } from "../../docker/frame_demux.ts";
import {
  listTasks,
  type TaskInfo,
  taskLogs,
  TERMINAL_TASK_STATES,
} from "../../docker/swarm_api.ts";
import { emptyStream, StoppableHandle } from "../_handle.ts";
import type { ComponentHandle, ExitStatus, PortReach, StopOptions } from "../orchestrator.ts";
import { POLL_MS, removeServicesAndWait } from "./swarm_removal.ts";
import type { OverlayProbe } from "./overlay_probe.ts";
import type { ProbeResult } from "../../health/probe.ts";

const logger = getLogger(["flowctl", "swarm"]);

/** Quiet time after a task ended before its followed log is closed, and the most it waits. */
const LOG_DRAIN_MS = 300;
const LOG_DRAIN_MAX_MS = 3_000;

/** A task as flowctl follows it: where it runs and how to reach it. */
export interface PlacedTask {
  component: string;
  taskId: string;
  containerId: string;
  nodeId: string;
  nodeName: string;
  /** The node's address (where its host-mode ports are published). */
  nodeAddress: string | undefined;
  /** Host-mode published port by container port, as the node published them. */
  published: ReadonlyMap<number, number>;
  local: boolean;
  /** Its address on docker_gwbridge, when it runs on this node. */
  bridgeAddress: string | undefined;
  /** Its address on the run's overlay network. */
  overlayAddress: string | undefined;
}

/** A task flowctl follows. */
export class TaskHandle extends StoppableHandle implements ComponentHandle {
  readonly componentId: string;
  readonly containerId: string;
  readonly taskId: string;
  readonly nodeName: string;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly exited: Promise<ExitStatus>;
  readonly #docker: DockerClient;
  readonly #component: Component;
  readonly #serviceId: string;
  readonly #placed: PlacedTask;
  readonly #logs = new AbortController();
  #stopRequested = false;
  #ended = false;
  /** Set when a service update replaces this task: stopping it then leaves the service alone. */
  #handedOver = false;
  /** Probes from the overlay, when flowctl cannot reach the probed port itself. */
  readonly probeHealth?: (options: { signal: AbortSignal }) => Promise<ProbeResult>;

  constructor(
    docker: DockerClient,
    component: Component,
    serviceId: string,
    placed: PlacedTask,
    task: TaskInfo,
    overlay?: OverlayProbe,
  ) {
    super();
    if (overlay) {
      // The probe task answers once per interval: wait for its next answer, not just the timeout.
      const waitMs = component.health
        ? component.health.intervalMs + component.health.timeoutMs + 2_000
        : 5_000;
      this.probeHealth = ({ signal }) => overlay.probe({ timeoutMs: waitMs, signal });
    }
    this.#docker = docker;
    this.#component = component;
    this.#serviceId = serviceId;
    this.#placed = placed;
    this.componentId = component.id;
    this.containerId = placed.containerId;
    this.taskId = placed.taskId;
    this.nodeName = placed.nodeName;
    this.exited = this.#wait(task);
    this.exited.then(() => this.#ended = true);
    const streams = this.#output();
    this.stdout = streams.stdout;
    this.stderr = streams.stderr;
  }

  /**
   * The task's output from the task logs API, demultiplexed. The engine keeps a followed task's
   * log open after the task ended, so it is closed once the task has ended and no output came
   * for LOG_DRAIN_MS (the node may still be shipping its last lines to the manager).
   */
  #output(): { stdout: ReadableStream<Uint8Array>; stderr: ReadableStream<Uint8Array> } {
    let lastChunk = Date.now();
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        lastChunk = Date.now();
        controller.enqueue(chunk);
      },
    });
    taskLogs(this.#docker, this.taskId, this.#logs.signal).then(
      (logs) => logs.pipeTo(writable, { signal: this.#logs.signal }),
    ).catch((error) => {
      logger.debug("Output of {component} ended: {error}", { component: this.componentId, error });
      writable.close().catch(() => {});
    });
    this.exited.then(async () => {
      const ended = Date.now();
      while (Date.now() - lastChunk < LOG_DRAIN_MS && Date.now() - ended < LOG_DRAIN_MAX_MS) {
        await delay(LOG_DRAIN_MS / 4, { signal: this.#logs.signal });
      }
      this.#logs.abort();
    });
    return demuxFrames(readable);
  }

  /** Polls the task until it has ended; its container's exit code is the exit. */
  async #wait(first: TaskInfo): Promise<ExitStatus> {
    let task = first;
    while (!TERMINAL_TASK_STATES.has(task.Status.State)) {
      await delay(POLL_MS * 2);
      const now = (await listTasks(this.#docker, this.#serviceId).catch(() => undefined))
        ?.find((t) => t.ID === this.taskId);
      if (!now) {
        // Removed with its service: by flowctl's stop (the swarm sends SIGTERM, then SIGKILL
        // after the grace period), or behind its back.
        return this.#stopRequested
          ? { code: 143, signal: "SIGTERM" }
          : { code: 137, signal: "SIGKILL" };
      }
      task = now;
    }
    const code = task.Status.ContainerStatus?.ExitCode ?? 137;
    return { code, signal: code === 137 ? "SIGKILL" : code === 143 ? "SIGTERM" : null };
  }

  probeAddress(port: number) {
    const placed = this.#placed;
    const published = placed.published.get(port) ??
      this.#component.ports.find((p) => p.containerPort === port)?.hostPort;
    if (published !== undefined) {
      // Host mode: the port is open on the node that runs the task, on all its addresses.
      return {
        hostname: placed.local ? "127.0.0.1" : placed.nodeAddress ?? "127.0.0.1",
        port: published,
      };
    }
    return { hostname: placed.bridgeAddress ?? placed.overlayAddress ?? "127.0.0.1", port };
  }

  /**
   * Where flowctl's host reaches the task's ports: those its node publishes at the node's address
   * (127.0.0.1 on this machine), and on this machine any port at its bridge address. Undefined
   * once the task ended: its node may still accept connections on the port it published (the
   * engine's proxy) and close them, which would read as the component being back.
   */
  reach(): PortReach | undefined {
    if (this.#ended) return undefined;
    const placed = this.#placed;
    const node = placed.local ? "127.0.0.1" : placed.nodeAddress;
    const published: Record<string, string> = {};
    for (const [target, port] of placed.published) {
      if (node) published[target] = `${node}:${port}`;
    }
    return {
      ...(placed.local && placed.bridgeAddress ? { host: placed.bridgeAddress } : {}),
      published,
      where: `node "${placed.nodeName}"${placed.nodeAddress ? ` (${placed.nodeAddress})` : ""}`,
    };
  }

  /**
   * Marks the task as replaced by a service update (`run --watch`): the swarm stops it, so
   * stopping the handle only waits for that and keeps the service.
   */
  handOver(handedOver: boolean): void {
    this.#handedOver = handedOver;
  }

  /** Removes the service (the swarm stops the task with its grace period) and waits for the end. */
  protected async stopOnce({ graceMs, force }: StopOptions): Promise<ExitStatus> {
    const docker = this.#docker;
    this.#stopRequested = true;
    if (this.#handedOver) {
      try {
        return await this.exited;
      } finally {
        this.#logs.abort();
      }
    }
    const kill = () => {
      if (this.#placed.local) docker.killContainer(this.containerId).catch(() => {});
    };
    if (graceMs <= 0 || force?.aborted) kill();
    force?.addEventListener("abort", kill, { once: true });
    try {
      await removeServicesAndWait(docker, [this.#serviceId]);
      return await this.exited;
    } finally {
      force?.removeEventListener("abort", kill);
      this.#logs.abort();
    }
  }
}

/** A service whose task had not run yet when the pipeline was asked to stop. */
export class UnplacedHandle extends StoppableHandle implements ComponentHandle {
  readonly componentId: string;
  readonly stdout = emptyStream();
  readonly stderr = emptyStream();
  readonly #ended = Promise.withResolvers<ExitStatus>();
  readonly exited = this.#ended.promise;
  readonly #docker: DockerClient;
  readonly #serviceId: string;

  constructor(docker: DockerClient, componentId: string, serviceId: string) {
    super();
    this.#docker = docker;
    this.componentId = componentId;
    this.#serviceId = serviceId;
  }

  probeAddress(port: number) {
    return { hostname: "127.0.0.1", port };
  }

  /** Removes the service before any task of it ran. */
  protected async stopOnce(): Promise<ExitStatus> {
    await removeServicesAndWait(this.#docker, [this.#serviceId]);
    this.#ended.resolve({ code: 143, signal: "SIGTERM" });
    return await this.exited;
  }
}
