/**
 * A startup probe that passes only when the component itself answers: a port held by another
 * program (the component then dies on "address already in use") must not start its dependents.
 */
import { portOwner } from "../proc/port_owner.ts";
import type { ProbeResult } from "./probe.ts";

/**
 * Wraps `probe` of a component whose process tree starts at `pid` and listens on the host's
 * `port`: a probe that passes while another process holds the port fails, saying who holds it.
 */
export function ownedProbe(
  probe: (signal: AbortSignal) => Promise<ProbeResult>,
  target: { port: number; pid: number },
): (signal: AbortSignal) => Promise<ProbeResult> {
  return async (signal) => {
    const result = await probe(signal);
    if (!result.ok) return result;
    const owner = await portOwner(target.port, target.pid);
    if (owner.kind !== "other") return result;
    const holder = owner.pid === undefined
      ? "another program"
      : `another program (pid ${owner.pid}${owner.name ? `, ${owner.name}` : ""})`;
    return {
      ok: false,
      reason: `port ${target.port} answers, but ${holder} holds it, not this component`,
    };
  };
}
