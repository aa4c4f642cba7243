/**
 * A flowctl process as an owner: pid, process start time and boot id, so that a reused pid or a
 * reboot is never mistaken for it. The run lock names its holder this way, and containers carry
 * it as labels: whoever finds them can tell whether the flowctl that made them is verifiably dead
 * before removing them (see isOwnerAlive).
 */
import * as v from "valibot";
import { readProcStat } from "./process_group.ts";

export const OwnerSchema = v.object({
  pid: v.number(),
  startTime: v.optional(v.number()),
  bootId: v.optional(v.string()),
  file: v.optional(v.string()),
});

/** A flowctl process, identified so that a reused pid or a reboot is never mistaken for it. */
export type RunOwner = v.InferOutput<typeof OwnerSchema>;

/** The boot id of this machine's kernel, which changes on every boot. */
export function bootId(): string | undefined {
  try {
    return Deno.readTextFileSync("/proc/sys/kernel/random/boot_id").trim();
  } catch {
    return undefined;
  }
}

/** This flowctl as an owner. */
export function currentOwner(): RunOwner {
  const startTime = readProcStat(Deno.pid)?.startTime;
  const boot = bootId();
  return {
    pid: Deno.pid,
    ...(startTime !== undefined ? { startTime } : {}),
    ...(boot !== undefined ? { bootId: boot } : {}),
  };
}

/**
 * Whether `owner` is still running: same boot, and its pid names a live process with the same
 * start time. Anything else (another boot, pid gone, pid reused) is verifiably dead.
 */
export function isOwnerAlive(owner: RunOwner): boolean {
  if (owner.bootId !== undefined && owner.bootId !== bootId()) return false;
  const stat = readProcStat(owner.pid);
  if (!stat || stat.state === "Z" || stat.state === "X") return false;
  return owner.startTime === undefined || stat.startTime === owner.startTime;
}
