/**
 * CPU and memory of running components, for `flowctl status`: a process group's from /proc, a
 * container's from the engine's stats API.
 */
import { containerUsage } from "./container/container_usage.ts";
import { processGroupUsage } from "./process/process_usage.ts";
import { loadLater } from "../load_later.ts";

/** CPU (percent of one core) and resident memory (bytes). */
export interface Usage {
  cpuPercent: number;
  rssBytes: number;
}

/** What usage is read of: a running component's process group leader or container. */
export interface UsageTarget {
  id: string;
  pid?: number | undefined;
  containerId?: string | undefined;
}

/**
 * CPU and memory of each component, by id: process groups sampled together over `sampleMs`,
 * containers asked of the engine. Components whose sample failed (or without an engine) are
 * left out.
 */
export async function componentUsage(
  components: readonly UsageTarget[],
  sampleMs: number,
): Promise<Map<string, Usage>> {
  const usage = new Map<string, Usage>();
  const groups = components.filter((c) => c.pid !== undefined);
  if (groups.length > 0) {
    const byGroup = await processGroupUsage(groups.map((c) => c.pid ?? 0), sampleMs);
    for (const c of groups) {
      const sample = byGroup.get(c.pid ?? 0);
      if (sample) usage.set(c.id, sample);
    }
  }
  const containers = components.filter((c) => c.containerId !== undefined);
  if (containers.length > 0) {
    try {
      // Loaded only here: process mode does not pay for the Docker client.
      const { DockerClient } = await loadLater<typeof import("../docker/docker_client.ts")>(
        new URL("../docker/docker_client.ts", import.meta.url),
      );
      using docker = await DockerClient.connect();
      await Promise.all(containers.map(async (c) => {
        const sample = await containerUsage(docker, c.containerId ?? "").catch(() => undefined);
        if (sample) usage.set(c.id, sample);
      }));
    } catch {
      // no engine: the columns stay empty
    }
  }
  return usage;
}
