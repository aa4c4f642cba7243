/**
 * Health probes from inside the run's overlay network, for a task whose probed port is not
 * published and that flowctl cannot reach directly (it runs on another node, or flowctl runs off
 * the swarm). A probe task (a one-replica service of the probe image, busybox, on the overlay)
 * probes the task's overlay address every interval and prints one line per probe; flowctl reads
 * them from the task logs API, through the manager, like any task's output.
 *
 * Why a probe task and not the engine's exec: the Engine API execs only in containers of the
 * engine it is sent to, so a manager cannot exec in a worker's task; and a component image built
 * FROM scratch has no shell or HTTP client to exec. Why one long-lived task and not one per probe:
 * creating and scheduling a service takes about a second, as long as the probe interval.
 */
import { delay } from "../../delay.ts";
import type { DockerClient } from "../../docker/docker_client.ts";
import { demuxFrames } from "../../docker/frame_demux.ts";
import {
  createService,
  listTasks,
  taskLogs,
  TERMINAL_TASK_STATES,
} from "../../docker/swarm_api.ts";
import type { HealthProbe } from "../../config/mod.ts";
import type { ProbeResult } from "../../health/probe.ts";
import { probeImage } from "./reach_check.ts";
import { removeServicesAndWait } from "./swarm_removal.ts";

export interface OverlayProbeOptions {
  name: string;
  networkId: string;
  /** The probed task's address on the overlay. */
  address: string;
  probe: Extract<HealthProbe, { type: "http" | "tcp" }>;
  intervalMs: number;
  timeoutMs: number;
  labels: Record<string, string>;
  registryAuth?: string | undefined;
}

/** A running probe task: `probe()` answers with the next result it prints. */
export class OverlayProbe implements AsyncDisposable {
  readonly #docker: DockerClient;
  readonly #serviceId: string;
  readonly #stop = new AbortController();
  #waiters: ((result: ProbeResult) => void)[] = [];
  #failure: string | undefined;

  private constructor(docker: DockerClient, serviceId: string) {
    this.#docker = docker;
    this.#serviceId = serviceId;
  }

  /** Creates the probe task and starts reading what it prints. */
  static async start(docker: DockerClient, options: OverlayProbeOptions): Promise<OverlayProbe> {
    const id = await createService(docker, {
      Name: options.name,
      Labels: options.labels,
      TaskTemplate: {
        ContainerSpec: {
          Image: probeImage(),
          Command: ["/bin/busybox", "sh", "-c", probeScript(options)],
          Labels: options.labels,
        },
        RestartPolicy: { Condition: "any", Delay: 1_000_000_000 },
        Networks: [{ Target: options.networkId }],
      },
      Mode: { Replicated: { Replicas: 1 } },
    }, { registryAuth: options.registryAuth });
    const probe = new OverlayProbe(docker, id);
    probe.#follow();
    return probe;
  }

  /** The next probe's result, or a failure when none comes within the probe's deadline. */
  async probe(options: { timeoutMs: number; signal: AbortSignal }): Promise<ProbeResult> {
    if (this.#failure) return { ok: false, reason: this.#failure };
    const next = Promise.withResolvers<ProbeResult>();
    this.#waiters.push(next.resolve);
    const deadline = AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]);
    const onAbort = () =>
      next.resolve({
        ok: false,
        reason: `the probe task on the overlay gave no answer${
          this.#failure ? `: ${this.#failure}` : ""
        }`,
      });
    deadline.addEventListener("abort", onAbort, { once: true });
    try {
      return await next.promise;
    } finally {
      deadline.removeEventListener("abort", onAbort);
      this.#waiters = this.#waiters.filter((w) => w !== next.resolve);
    }
  }

  /** Follows the probe task's output (its next task after a restart), line by line. */
  async #follow(): Promise<void> {
    const signal = this.#stop.signal;
    const followed = new Set<string>();
    while (!signal.aborted) {
      const task = (await listTasks(this.#docker, this.#serviceId).catch(() => []))
        .find((t) => !followed.has(t.ID) && !TERMINAL_TASK_STATES.has(t.Status.State));
      if (!task || task.Status.State !== "running") {
        if (task?.Status.Err) this.#failure = task.Status.Err;
        await delay(200, { signal }).catch(() => {});
        continue;
      }
      followed.add(task.ID);
      try {
        const logs = await taskLogs(this.#docker, task.ID, signal);
        const { stdout } = demuxFrames(logs);
        for await (const line of lines(stdout)) this.#answer(line);
      } catch {
        // the task ended or the run stops: look for the next one
      }
    }
  }

  #answer(line: string): void {
    const result: ProbeResult | undefined = line.startsWith("probe ok")
      ? { ok: true }
      : line.startsWith("probe failed")
      ? { ok: false, reason: line.slice("probe failed".length).replace(/^:\s*/, "").trim() }
      : undefined;
    if (!result) return;
    this.#failure = undefined;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve(result);
  }

  /** Removes the probe task. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#stop.abort();
    await removeServicesAndWait(this.#docker, [this.#serviceId]);
  }
}

/**
 * The probe loop. HTTP is spoken through `nc` rather than `wget`: a statically linked glibc
 * busybox (Debian's busybox-static) crashes in wget's address lookup, nc works everywhere.
 */
function probeScript(options: OverlayProbeOptions): string {
  const { probe, address } = options;
  const timeout = Math.max(1, Math.ceil(options.timeoutMs / 1000));
  const pause = Math.max(1, Math.round(options.intervalMs / 1000));
  const bb = "/bin/busybox";
  const path = probe.type === "http"
    ? (probe.path.startsWith("/") ? probe.path : `/${probe.path}`)
    : "";
  const check = probe.type === "http"
    ? `printf 'GET ${path} HTTP/1.0\\r\\nHost: ${address}\\r\\n\\r\\n' | ${bb} nc -w ${timeout} ${address} ${probe.port} | ${bb} head -n 1 | ${bb} grep -q ' 2[0-9][0-9]'`
    : `echo | ${bb} nc -w ${timeout} ${address} ${probe.port}`;
  const what = probe.type === "http" ? `GET ${path}` : `connect to port ${probe.port}`;
  return `while true; do if ${check} >/dev/null 2>&1; then echo "probe ok"; else echo "probe failed: ${what} from the overlay failed"; fi; ${bb} sleep ${pause}; done`;
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
    }
  }
}
