/**
 * CPU and memory of the running components for the dashboard: process groups from one pass over
 * /proc per sample (CPU from the change since the previous sample), containers from the
 * engine's stats. Swarm tasks may run on other nodes, so they show none; for them the nodes
 * their tasks run on are sampled instead (every fifth sample: a request per service).
 */
import type { DockerClient } from "../docker/docker_client.ts";
import { runTasks } from "../docker/swarm_tasks.ts";
import { containerUsage } from "../orchestrator/usage.ts";
import { readGroupTotals } from "../proc/group_usage.ts";
import type { ComponentSnapshot } from "../runner/events.ts";
import type { Usage } from "./dashboard_view.ts";

const RUNNING = ["starting", "healthy", "unhealthy", "running"];
const NODES_EVERY_SAMPLES = 5;

/** Samples usage on request; keeps what it needs between samples. */
export class UsageSampler implements AsyncDisposable {
  readonly #orchestrator: string;
  readonly #previous = new Map<number, { cpuSeconds: number; at: number }>();
  #docker: Promise<DockerClient | undefined> | undefined;
  #usage = new Map<string, Usage>();
  #nodes = new Map<string, string>();
  #samples = 0;

  constructor(orchestrator: string) {
    this.#orchestrator = orchestrator;
  }

  /** The latest sample, by component id. */
  get usage(): ReadonlyMap<string, Usage> {
    return this.#usage;
  }

  /** Swarm mode: the hostnames of the nodes each component's tasks run on, by component id. */
  get nodes(): ReadonlyMap<string, string> {
    return this.#nodes;
  }

  /** Takes a new sample of the running components of run `runId`. */
  async sample(snapshots: readonly ComponentSnapshot[], runId: string): Promise<void> {
    const running = snapshots.filter((s) => RUNNING.includes(s.phase));
    const usage = new Map<string, Usage>();
    if (this.#orchestrator === "process") this.#sampleGroups(running, usage);
    else if (this.#orchestrator === "container") await this.#sampleContainers(running, usage);
    else if (this.#samples % NODES_EVERY_SAMPLES === 0) await this.#sampleNodes(runId);
    this.#samples++;
    this.#usage = usage;
  }

  async #sampleNodes(runId: string): Promise<void> {
    const docker = await this.#engine();
    if (!docker || runId === "") return;
    const tasks = await runTasks(docker, runId).catch(() => undefined);
    if (!tasks) return;
    this.#nodes = new Map(
      [...tasks].map(([id, list]) => [id, [...new Set(list.map((t) => t.node))].join(", ") || "-"]),
    );
  }

  #engine(): Promise<DockerClient | undefined> {
    this.#docker ??= import("../docker/docker_client.ts")
      .then(({ DockerClient }) => DockerClient.connect())
      .catch(() => undefined);
    return this.#docker;
  }

  #sampleGroups(running: readonly ComponentSnapshot[], usage: Map<string, Usage>): void {
    const now = performance.now();
    const groups = new Map(running.flatMap((s) => s.pid !== undefined ? [[s.pid, s.id]] : []));
    const totals = readGroupTotals(new Set(groups.keys()));
    for (const [pgid, id] of groups) {
      const total = totals.get(pgid);
      const before = this.#previous.get(pgid);
      if (!total) continue;
      this.#previous.set(pgid, { cpuSeconds: total.cpuSeconds, at: now });
      // The first sample of a group has nothing to compare with: memory only, until the next.
      const seconds = before ? (now - before.at) / 1000 : 0;
      const cpuPercent = before && seconds > 0
        ? Math.max(0, ((total.cpuSeconds - before.cpuSeconds) / seconds) * 100)
        : 0;
      usage.set(id, { cpuPercent: Math.round(cpuPercent * 10) / 10, rssBytes: total.rssBytes });
    }
    for (const pgid of this.#previous.keys()) if (!groups.has(pgid)) this.#previous.delete(pgid);
  }

  async #sampleContainers(
    running: readonly ComponentSnapshot[],
    usage: Map<string, Usage>,
  ): Promise<void> {
    const docker = await this.#engine();
    if (!docker) return;
    await Promise.all(running.map(async (s) => {
      if (s.containerId === undefined) return;
      const sample = await containerUsage(docker, s.containerId).catch(() => undefined);
      if (sample) {
        usage.set(s.id, {
          cpuPercent: Math.round(sample.cpuPercent * 10) / 10,
          rssBytes: sample.rssBytes,
        });
      }
    }));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    (await this.#docker)?.[Symbol.dispose]();
  }
}
