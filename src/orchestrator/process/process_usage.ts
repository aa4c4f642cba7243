/**
 * CPU and memory of process groups, for `flowctl status`: utime+stime from /proc over a short
 * interval, VmRSS summed over the group.
 */
import { delay } from "../../delay.ts";
import { groupMembers } from "../../proc/process_group.ts";
import type { Usage } from "../usage.ts";

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
