/** CPU and memory of a running container, from the engine's stats API, for `flowctl status`. */
import * as v from "valibot";
import type { DockerClient } from "../../docker/docker_client.ts";
import type { Usage } from "../usage.ts";

const StatsSchema = v.looseObject({
  cpu_stats: v.looseObject({
    cpu_usage: v.looseObject({ total_usage: v.number() }),
    system_cpu_usage: v.optional(v.number()),
    online_cpus: v.optional(v.number()),
  }),
  precpu_stats: v.looseObject({
    cpu_usage: v.looseObject({ total_usage: v.optional(v.number()) }),
    system_cpu_usage: v.optional(v.number()),
  }),
  memory_stats: v.looseObject({
    usage: v.optional(v.number()),
    stats: v.optional(v.record(v.string(), v.number())),
  }),
});

/**
 * One stats sample of a container (`?stream=false`: the engine compares against its previous
 * sample, about a second earlier). Undefined when the container is gone.
 */
export async function containerUsage(
  docker: DockerClient,
  containerId: string,
): Promise<Usage | undefined> {
  const response = await docker.request("GET", `/containers/${containerId}/stats`, {
    query: { stream: false },
    accept: [404, 409],
  });
  if (!response.ok) {
    await response.body?.cancel();
    return undefined;
  }
  const parsed = v.safeParse(StatsSchema, await response.json());
  if (!parsed.success) return undefined;
  const { cpu_stats: cpu, precpu_stats: previous, memory_stats: memory } = parsed.output;
  const cpuDelta = cpu.cpu_usage.total_usage - (previous.cpu_usage.total_usage ?? 0);
  const systemDelta = (cpu.system_cpu_usage ?? 0) - (previous.system_cpu_usage ?? 0);
  const cpuPercent = systemDelta > 0 && cpuDelta >= 0
    ? (cpuDelta / systemDelta) * (cpu.online_cpus ?? 1) * 100
    : 0;
  // As `docker stats` shows it: usage without the page cache (cgroup v1 "cache", v2 "inactive_file").
  const cache = memory.stats?.["inactive_file"] ?? memory.stats?.["cache"] ?? 0;
  return { cpuPercent, rssBytes: Math.max(0, (memory.usage ?? 0) - cache) };
}
