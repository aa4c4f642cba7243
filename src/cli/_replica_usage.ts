/**
 * `status` for components with `replicas: N`: each instance's process or container, whether it
 * is up, and its CPU and memory; the component's figures are their sums.
 */
import { componentUsage, type Usage, type UsageTarget } from "../orchestrator/usage.ts";
import type { RunState } from "../state/state_file.ts";

/** One instance as `status` shows it. */
export interface ReplicaView {
  replica: number;
  pid?: number;
  containerId?: string;
  /** Its process group or container answered the usage sample. */
  up: boolean;
  cpuPercent?: number;
  rssBytes?: number;
}

type StateComponent = RunState["components"][number];

/** Usage by component id (summed over replicas), and each replicated component's instances. */
export async function usageWithReplicas(
  running: readonly StateComponent[],
  sampleMs: number,
): Promise<{ usage: Map<string, Usage>; replicas: Map<string, ReplicaView[]> }> {
  const targets: UsageTarget[] = running.flatMap((c) =>
    c.replicas && c.replicas.length > 1
      ? c.replicas.map((r, i) => ({
        id: `${c.id}#${i + 1}`,
        pid: r.pid,
        containerId: r.containerId,
      }))
      : [{ id: c.id, pid: c.pid, containerId: c.containerId }]
  );
  const sampled = await componentUsage(targets, sampleMs);
  const usage = new Map<string, Usage>();
  const replicas = new Map<string, ReplicaView[]>();
  for (const c of running) {
    if (!c.replicas || c.replicas.length <= 1) {
      const own = sampled.get(c.id);
      if (own) usage.set(c.id, own);
      continue;
    }
    const views = c.replicas.map((r, i): ReplicaView => {
      const sample = sampled.get(`${c.id}#${i + 1}`);
      return {
        replica: i + 1,
        ...(r.pid !== undefined ? { pid: r.pid } : {}),
        ...(r.containerId !== undefined ? { containerId: r.containerId } : {}),
        up: sample !== undefined,
        ...sample,
      };
    });
    replicas.set(c.id, views);
    const up = views.filter((v) => v.up);
    if (up.length > 0) {
      usage.set(c.id, {
        cpuPercent: up.reduce((sum, v) => sum + (v.cpuPercent ?? 0), 0),
        rssBytes: up.reduce((sum, v) => sum + (v.rssBytes ?? 0), 0),
      });
    }
  }
  return { usage, replicas };
}
