/**
 * When a started component counts as ready (its startup health check), and the probes that
 * keep watching it afterwards: HTTP, TCP, an exec in the component, or its registration with the
 * control plane.
 */
import { clip, type Component, formatDuration } from "../config/mod.ts";
import { monitorHealth } from "../health/health_monitor.ts";
import { probeHttp, type ProbeResult, probeTcp } from "../health/probe.ts";
import { waitUntilHealthy } from "../health/wait_until_healthy.ts";
import { ownedProbe } from "../health/owned_probe.ts";
import type { ComponentHandle, ExitStatus, OrchestratorRun } from "../orchestrator/orchestrator.ts";
import type { RunnerEvent } from "./events.ts";

/** How often a startup wait reports that it is still waiting. */
const WAITING_REPORT_MS = 5_000;
/** The shortest pause between exec probes while a component starts. */
const EXEC_PROBE_PAUSE_MS = 100;

/** Tells when a component has registered with the control plane (`health: { registered: true }`). */
export interface RegistrationWatcher {
  waitUntilRegistered(componentId: string, signal: AbortSignal): Promise<void>;
  /** Why registrations so far matched no component, if any did not. */
  describeUnmatched?(): string | undefined;
  /** What a component registered, if it did (the data path starts once its ends did). */
  forComponent?(
    componentId: string,
  ): { request: { protocol: string; type: string; endpoint?: string | undefined } } | undefined;
}

/** How a startup wait ended. */
export type ReadyOutcome =
  | { kind: "ready" }
  | { kind: "exited"; exit: ExitStatus }
  | { kind: "aborted" }
  | { kind: "timeout"; reason: string | undefined };

/** What readiness needs of the supervisor: the component, its run, and where events go. */
export interface Readiness {
  component: Component;
  run: OrchestratorRun;
  registrations?: RegistrationWatcher | undefined;
  emit(event: RunnerEvent): void;
}

/** Waits until the component is ready, has exited, or `signal` aborts; reports long waits. */
export async function waitReady(
  readiness: Readiness,
  handle: ComponentHandle,
  signal: AbortSignal,
): Promise<ReadyOutcome> {
  const { component } = readiness;
  const health = component.health;
  if (!health) return { kind: "ready" };
  const began = Date.now();
  let lastReason: string | undefined;
  const reporter = setInterval(() => {
    readiness.emit({
      type: "component_waiting",
      component: component.id,
      waitedMs: Date.now() - began,
      ...(lastReason !== undefined ? { lastProbe: lastReason } : {}),
    });
  }, WAITING_REPORT_MS);
  const exitSeen = new AbortController();
  const exited = handle.exited.then((exit) => {
    exitSeen.abort();
    return { kind: "exited" as const, exit };
  });
  const waitSignal = AbortSignal.any([signal, exitSeen.signal]);
  try {
    const ready = health.probe.type === "registered"
      ? waitRegistered(readiness, health.startPeriodMs, waitSignal)
      : waitUntilHealthy(startupProbe(readiness, handle), {
        timeoutMs: health.startPeriodMs,
        maxPauseMs: health.startIntervalMs,
        signal: waitSignal,
        onFailedProbe: (reason) => lastReason = reason,
        // A command (a process, or an engine exec) costs more than a connect.
        ...(health.probe.type === "exec" ? { minPauseMs: EXEC_PROBE_PAUSE_MS } : {}),
      }).then((outcome): ReadyOutcome =>
        outcome.status === "healthy"
          ? { kind: "ready" }
          : outcome.status === "aborted"
          ? { kind: "aborted" }
          : { kind: "timeout", reason: outcome.lastReason }
      );
    const outcome = await Promise.race([exited, ready]);
    // An exit wins over the abort it caused.
    return outcome.kind === "aborted" && exitSeen.signal.aborted && !signal.aborted
      ? await exited
      : outcome;
  } finally {
    clearInterval(reporter);
    exitSeen.abort();
  }
}

/** What the health monitor of a ready component reports to the supervisor. */
export interface HealthWatch {
  signal: AbortSignal;
  onChange(healthy: boolean, reason: string | undefined): void;
  /** Liveness (`restart_after`): `failures` probes failed in a row. */
  onDead(failures: number): void;
}

/** Probes a ready component at its interval until `watch.signal` aborts (no-op without a probe). */
export function watchHealth(
  readiness: Readiness,
  handle: ComponentHandle,
  watch: HealthWatch,
): void {
  const health = readiness.component.health;
  if (!health || health.probe.type === "registered") return;
  monitorHealth(probeFor(readiness, handle), {
    intervalMs: health.intervalMs,
    retries: health.retries,
    signal: watch.signal,
    ...(health.restartAfter !== undefined
      ? { restartAfter: health.restartAfter, onDead: watch.onDead }
      : {}),
    onChange: watch.onChange,
  });
}

async function waitRegistered(
  readiness: Readiness,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ReadyOutcome> {
  const registrations = readiness.registrations;
  if (!registrations) return { kind: "timeout", reason: "no control plane is running" };
  try {
    await registrations.waitUntilRegistered(
      readiness.component.id,
      AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    );
    return { kind: "ready" };
  } catch {
    return signal.aborted ? { kind: "aborted" } : {
      kind: "timeout",
      reason: `it never registered with the control plane${
        unmatchedSuffix(registrations.describeUnmatched?.())
      }`,
    };
  }
}

/** At startup a passing probe must be answered by the component's own processes. */
function startupProbe(
  readiness: Readiness,
  handle: ComponentHandle,
): (signal: AbortSignal) => Promise<ProbeResult> {
  const probe = probeFor(readiness, handle);
  const check = readiness.component.health?.probe;
  const pid = handle.containerId === undefined ? handle.pid : undefined;
  return pid !== undefined && (check?.type === "http" || check?.type === "tcp")
    ? ownedProbe(probe, { port: handle.probeAddress(check.port).port, pid })
    : probe;
}

function probeFor(
  readiness: Readiness,
  handle: ComponentHandle,
): (signal: AbortSignal) => Promise<ProbeResult> {
  const health = readiness.component.health;
  if (!health || health.probe.type === "registered") return () => Promise.resolve({ ok: true });
  const probe = health.probe;
  if (probe.type === "exec") {
    return (signal) => probeExec(readiness, handle, probe.command, signal);
  }
  const probeHealth = handle.probeHealth;
  if (probeHealth) return (signal) => probeHealth({ signal });
  const address = handle.probeAddress(probe.port);
  return probe.type === "http"
    ? (signal) =>
      probeHttp({ ...address, path: probe.path }, { timeoutMs: health.timeoutMs, signal })
    : (signal) => probeTcp(address, { timeoutMs: health.timeoutMs, signal });
}

/** Runs an exec probe within the health timeout; exit code 0 is healthy. */
async function probeExec(
  readiness: Readiness,
  handle: ComponentHandle,
  command: readonly string[],
  signal: AbortSignal,
): Promise<ProbeResult> {
  const timeoutMs = readiness.component.health?.timeoutMs ?? 0;
  const deadline = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
  const shown = `"${command.join(" ")}"`;
  try {
    const code = await readiness.run.exec(handle, command, { signal: deadline });
    return code === 0 ? { ok: true } : { ok: false, reason: `${shown} exited with code ${code}` };
  } catch (error) {
    if (deadline.aborted) {
      return { ok: false, reason: `${shown} timed out after ${formatDuration(timeoutMs)}` };
    }
    const message = error instanceof Deno.errors.NotFound
      ? "command not found"
      : error instanceof Error
      ? error.message.split("\n")[0]
      : String(error);
    return { ok: false, reason: `${shown} could not run: ${message}` };
  }
}

function unmatchedSuffix(unmatched: string | undefined): string {
  return unmatched ? ` (${clip(unmatched)})` : "";
}
