/** When a component may start, and when a run is complete: its dependency edges, read from the pipeline. */
import type { Component, Dependency, Pipeline } from "../config/mod.ts";

/** What a component waits for before it starts: its inputs healthy, and its depends_on edges. */
export function startConditions(component: Component): Dependency[] {
  return [
    ...component.inputs.map((id) => ({ id, condition: "healthy" as const })),
    ...component.dependsOn,
  ];
}

/** Components that a dependent waits for with `completed_successfully`. */
export function oneShotIds(pipeline: Pipeline): Set<string> {
  return new Set(
    pipeline.components.flatMap((component) =>
      component.dependsOn
        .filter((edge) => edge.condition === "completed_successfully")
        .map((edge) => edge.id)
    ),
  );
}

/** `promise`, or undefined once `signal` aborts (whichever comes first). */
export function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  const aborted = Promise.withResolvers<void>();
  const onAbort = () => aborted.resolve();
  signal.addEventListener("abort", onAbort, { once: true });
  return Promise.race([promise, aborted.promise]).finally(() =>
    signal.removeEventListener("abort", onAbort)
  );
}

/**
 * The components whose end completes the run: every sink (a pipeline without sinks: every
 * component). One-shots that others wait for (completed_successfully) do not count: their end is
 * not the run's. spec.pipelines entries run like sinks.
 */
export function awaitedComponents(pipeline: Pipeline): Component[] {
  const oneShots = oneShotIds(pipeline);
  const all = pipeline.components.filter((c) => !oneShots.has(c.id));
  const sinks = all.filter((c) => c.kind === "sink" || c.kind === "pipeline");
  return sinks.length > 0 ? sinks : all;
}
