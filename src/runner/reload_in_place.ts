/**
 * A reload that updates changed components in place (swarm mode: `docker service update`), one
 * at a time, each behind its health gate before the next; a component whose update fails is
 * rolled back to its previous definition and the run goes on.
 */
import type { Component, Pipeline } from "../config/mod.ts";
import { ComponentFailedError } from "../orchestrator/orchestrator.ts";
import { type ReloadChanges, ReloadError, type ReloadSummary } from "./reload_plan.ts";

/** What the pipeline runner does for an in-place reload. */
export interface InPlaceHost {
  /** Updates the component's service to `component` (the orchestrator run's `update`). */
  update(component: Component): Promise<void>;
  /** Stops following the component (removing it unless its task was handed to an update). */
  stop(id: string): Promise<void>;
  /** Follows the component's new task until it is ready (its health gate). */
  start(component: Component): Promise<void>;
  /** The pipeline the run now runs. */
  adopt(pipeline: Pipeline): void;
  /** Closes a removed component's log. */
  forget(id: string): Promise<void>;
  /** The rollback failed too: the run fails. */
  failed(error: ComponentFailedError): void;
}

/**
 * Applies `summary` (before → next) in place: removed components stopped, changed ones updated
 * in the new graph's order. Dependents keep running: an updated service keeps its name and
 * network alias. Adding components needs a new run.
 * @throws {ReloadError} when a component is added, or an update failed (then rolled back).
 * @throws {ComponentFailedError} when the rollback too failed: the run fails.
 */
export async function reloadInPlace(
  before: Pipeline,
  next: Pipeline,
  summary: ReloadChanges,
  host: InPlaceHost,
): Promise<ReloadSummary> {
  if (summary.added.length > 0) {
    throw new ReloadError(
      `swarm services are updated in place, and ${
        summary.added.map((id) => `"${id}"`).join(", ")
      } ${
        summary.added.length === 1 ? "is" : "are"
      } new: restart flowctl to add components to a swarm run`,
    );
  }
  for (const id of before.levels.flat().reverse()) {
    if (!summary.removed.includes(id)) continue;
    await host.stop(id);
    await host.forget(id);
  }
  const kept = before.components.filter((c) => next.components.some((n) => n.id === c.id));
  let now: Pipeline = { ...next, components: kept };
  host.adopt(now);
  for (const id of next.levels.flat()) {
    const component = next.components.find((c) => c.id === id);
    const previous = before.components.find((c) => c.id === id);
    if (!component || !previous || !summary.changed.includes(id)) continue;
    await updateOne(component, previous, host);
    now = withComponent(now, component);
    host.adopt(now);
  }
  host.adopt(next);
  return { ...summary, dependents: [], inPlace: true };
}

/**
 * Updates one component and waits for its new task; rolls it back (another update, to the
 * previous definition) when that task does not become ready. An update the engine refuses
 * changed nothing.
 */
async function updateOne(component: Component, previous: Component, host: InPlaceHost) {
  try {
    await host.update(component);
  } catch (error) {
    if (!(error instanceof ComponentFailedError)) throw error;
    throw new ReloadError(`component "${component.id}" was not updated: ${error.message}`, {
      cause: error,
    });
  }
  try {
    await host.stop(component.id);
    await host.start(component);
  } catch (error) {
    if (!(error instanceof ComponentFailedError)) throw error;
    try {
      // The update hands the failed task over, so stopping its follower keeps the service.
      await host.update(previous);
      await host.stop(component.id);
      await host.start(previous);
    } catch (rollback) {
      if (rollback instanceof ComponentFailedError) host.failed(rollback);
      throw rollback;
    }
    throw new ReloadError(
      `component "${component.id}" was not updated: ${error.message}; its service was rolled back to the previous definition`,
      { cause: error },
    );
  }
}

function withComponent(pipeline: Pipeline, component: Component): Pipeline {
  return {
    ...pipeline,
    components: pipeline.components.map((c) => c.id === component.id ? component : c),
  };
}
