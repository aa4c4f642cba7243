/**
 * CPU and memory of running components, for `flowctl status`: a process group's from /proc
 * (utime+stime over a short interval, VmRSS summed over the group), a container's from the
 * engine's stats API.
 */
import * as v from "valibot";
import type { DockerClient } from "../docker/docker_client.ts";
import { delay } from "../delay.ts";
import { groupMembers } from "../proc/process_group.ts";

/** CPU (percent of one core) and resident memory (bytes). */
export interface Usage {
  cpuPercent: number;
  rssBytes: number;
}

/** Clock ticks per second of /proc times: USER_HZ, 100 on every Linux architecture in use. */
const TICKS_PER_SECOND = 100;

/**
 * Samples process groups `pgids` over `intervalMs` (together, so several groups cost one
 * interval). Groups without live members are left out.
 */
export async function processGroupUsage(
  pgids: readonly number[],
  intervalMs: number,
): Promise<Map<number, Usage>> {
  const before = new Map(pgids.map((pgid) => [pgid, groupTicks(pgid)]));
  const started = performance.now();
  await delay(intervalMs);
  const seconds = (performance.now() - started) / 1000;
  const usage = new Map<number, Usage>();
  for (const pgid of pgids) {
    const members = groupMembers(pgid);
    if (members.length === 0) continue;
    const ticks = groupTicks(pgid) - (before.get(pgid) ?? 0);
    usage.set(pgid, {
      cpuPercent: Math.max(0, (ticks / TICKS_PER_SECOND / seconds) * 100),
      rssBytes: members.reduce((sum, pid) => sum + rssOf(pid), 0),
    });
  }
  return usage;
}

/** utime + stime of every live member of the group, in clock ticks. */
function groupTicks(pgid: number): number {
  let total = 0;
  for (const pid of groupMembers(pgid)) {
    try {
      const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
      // After the command name: state is field 3, so utime (14) and stime (15) sit at 11 and 12.
      total += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
    } catch {
      // exited between the listing and the read
    }
  }
  return total;
}

function rssOf(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kib ? Number(kib) * 1024 : 0;
  } catch {
    return 0;
  }
}

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
