/**
 * What a component's exit means under its `restart` policy and `max_restarts`, and how a
 * failure is told: pure decisions, the supervisor acts on them.
 */
import { type Component, formatDuration } from "../config/mod.ts";
import {
  ComponentFailedError,
  describeExit,
  type ExitStatus,
  HealthTimeoutError,
} from "../orchestrator/orchestrator.ts";

/** How a supervised component ended, when it ended on its own. */
export type SupervisorEnd =
  | { kind: "finished" }
  | { kind: "failed"; error: ComponentFailedError };

/** What follows an exit of a running component. */
export type ExitDecision = SupervisorEnd | { kind: "restart" };

/** The facts about an exit that the policy weighs. */
export interface ExitFacts {
  exit: ExitStatus;
  /** The exit was caused by failed liveness probes: a failure whatever its code. */
  livenessKill: boolean;
  /** Restarts so far. */
  restarts: number;
}

/** An exit with code 0, not by a signal. */
export function isClean(exit: ExitStatus): boolean {
  return exit.code === 0 && exit.signal === null;
}

/** Whether the exit counts as a failure (for `on-failure` and `completed_successfully`). */
export function isFailure(facts: ExitFacts): boolean {
  return !isClean(facts.exit) || facts.livenessKill;
}

/** Decides what follows an exit: the component finished, failed for good, or restarts. */
export function decideAfterExit(component: Component, facts: ExitFacts): ExitDecision {
  const failed = isFailure(facts);
  const description = facts.livenessKill
    ? `was stopped after failing ${component.health?.restartAfter} health checks in a row`
    : describeExit(facts.exit);
  const restart = component.restart === "always" ||
    (component.restart === "on-failure" && failed);
  if (!restart) {
    if (!failed) return { kind: "finished" };
    return failedWith(component, `Component "${component.id}" ${description}`, facts.exit);
  }
  if (facts.restarts >= component.maxRestarts) {
    return failedWith(
      component,
      `Component "${component.id}" ${description} and was restarted ${facts.restarts} time${
        facts.restarts === 1 ? "" : "s"
      } already (max_restarts: ${component.maxRestarts})`,
      facts.exit,
    );
  }
  return { kind: "restart" };
}

function failedWith(component: Component, message: string, exit: ExitStatus): SupervisorEnd {
  return { kind: "failed", error: new ComponentFailedError(component.id, message, { exit }) };
}

/** The failure of a component that exited during its startup. */
export function exitedAtStartup(component: Component, exit: ExitStatus): ComponentFailedError {
  return new ComponentFailedError(
    component.id,
    `Component "${component.id}" ${describeExit(exit)} during startup`,
    { exit },
  );
}

/** The failure of a component not healthy within its start period. */
export function notHealthyInTime(
  component: Component,
  lastProbe: string | undefined,
): HealthTimeoutError {
  return new HealthTimeoutError(
    component.id,
    `Component "${component.id}" did not pass its health check within ${
      formatDuration(component.health?.startPeriodMs ?? 0)
    }${lastProbe ? ` (last probe: ${lastProbe})` : ""}`,
  );
}

/** Why a component restarted is unhealthy: not healthy within its start period. */
export function notHealthyAfterRestart(
  component: Component,
  lastProbe: string | undefined,
): string {
  return `not healthy ${formatDuration(component.health?.startPeriodMs ?? 0)} after its restart${
    lastProbe ? ` (last probe: ${lastProbe})` : ""
  }`;
}

/** Any error of a component's supervision, as its failure. */
export function asComponentFailure(component: Component, error: unknown): ComponentFailedError {
  return error instanceof ComponentFailedError ? error : new ComponentFailedError(
    component.id,
    `Component "${component.id}" failed: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error },
  );
}
