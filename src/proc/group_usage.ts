/**
 * CPU time and resident memory of several process groups from one pass over /proc: each
 * process's stat file is read once per sample, however many groups are asked for, so a
 * dashboard that samples 50 components every few seconds stays cheap.
 */

/** Clock ticks per second of /proc times: USER_HZ, 100 on every Linux architecture in use. */
const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

/** CPU seconds used so far and resident bytes now, summed over a group's live members. */
export interface GroupTotals {
  cpuSeconds: number;
  rssBytes: number;
}

/** Totals of each group in `pgids` that has live members, by group id. */
export function readGroupTotals(pgids: ReadonlySet<number>): Map<number, GroupTotals> {
  const totals = new Map<number, GroupTotals>();
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync("/proc");
  } catch {
    return totals;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry.name)) continue;
    let text: string;
    try {
      text = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
    } catch {
      continue; // exited between the listing and the read
    }
    // The command name may hold spaces and parentheses; fields resume after the last ")".
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const pgrp = Number(fields[2]);
    if (!pgids.has(pgrp) || fields[0] === "Z" || fields[0] === "X") continue;
    const group = totals.get(pgrp) ?? { cpuSeconds: 0, rssBytes: 0 };
    // utime (14), stime (15) and rss in pages (24), counted from field 3.
    group.cpuSeconds += (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / TICKS_PER_SECOND;
    group.rssBytes += Number(fields[21] ?? 0) * PAGE_BYTES;
    totals.set(pgrp, group);
  }
  return totals;
}
