/**
 * CPU and memory of the running components for the dashboard: process groups from one pass over
 * /proc per sample (CPU from the change since the previous sample), containers from the
 * engine's stats. Swarm tasks may run on other nodes, so they show none; for them the nodes
 * their tasks run on are sampled instead (every fifth sample: a request per service).
 */
import type { OrchestratorKind } from "../config/mod.ts";
import { type Mode, modeOf } from "../orchestrator/select.ts";
import { componentUsage, type Usage } from "../orchestrator/usage.ts";
import { swarmTasks } from "../orchestrator/swarm/swarm_tasks.ts";
import { readGroupTotals } from "../proc/group_usage.ts";
import type { ComponentSnapshot } from "../runner/events.ts";

const RUNNING = ["starting", "healthy", "unhealthy", "running"];
const NODES_EVERY_SAMPLES = 5;

/** Samples usage on request; keeps what it needs between samples. */
export class UsageSampler {
  readonly #mode: Mode;
  readonly #previous = new Map<number, { cpuSeconds: number; at: number }>();
  #usage: ReadonlyMap<string, Usage> = new Map();
  #nodes = new Map<string, string>();
  #samples = 0;

  constructor(orchestrator: OrchestratorKind) {
    this.#mode = modeOf(orchestrator);
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
    // Processes on this host are read from /proc; containers from the engine; swarm tasks,
    // which may run on other nodes, by the nodes they run on.
    if (this.#mode.runsOnHost) this.#usage = this.#sampleGroups(running);
    else if (!this.#mode.listsTasks) {
      // The engine compares with its own previous sample: no interval to wait here.
      this.#usage = await componentUsage(
        running.flatMap((s) => s.containerId ? [{ id: s.id, containerId: s.containerId }] : []),
        0,
      );
    } else if (this.#samples % NODES_EVERY_SAMPLES === 0) await this.#sampleNodes(runId);
    this.#samples++;
  }

  #sampleGroups(running: readonly ComponentSnapshot[]): Map<string, Usage> {
    const usage = new Map<string, Usage>();
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
    return usage;
  }

  async #sampleNodes(runId: string): Promise<void> {
    if (runId === "") return;
    const tasks = await swarmTasks({ orchestrator: this.#mode.kind, runId });
    this.#nodes = new Map(
      [...tasks].map(([id, list]) => [id, [...new Set(list.map((t) => t.node))].join(", ") || "-"]),
    );
  }
}
