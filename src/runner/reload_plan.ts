/** What a reload (`run --watch`) changes: the components added, removed, changed, and their dependents. */
import type { Pipeline } from "../config/mod.ts";
import { UserError } from "../user_error.ts";

/** A reload could not bring a dependent of a changed component back. */
export class ReloadError extends UserError {
  override name = "ReloadError";
}

/** What a reload changes, by component id. */
export interface ReloadSummary {
  added: string[];
  removed: string[];
  /** Components whose definition changed: they restart with the new one. */
  changed: string[];
  /** Running components restarted because something they depend on restarted or was added. */
  dependents: string[];
}

/** Compares two versions of a pipeline component by component. */
export function diffPipelines(
  before: Pipeline,
  after: Pipeline,
): Omit<ReloadSummary, "dependents"> {
  const old = new Map(before.components.map((c) => [c.id, JSON.stringify(c)]));
  const now = new Set(after.components.map((c) => c.id));
  return {
    added: after.components.filter((c) => !old.has(c.id)).map((c) => c.id),
    removed: before.components.filter((c) => !now.has(c.id)).map((c) => c.id),
    changed: after.components
      .filter((c) => old.has(c.id) && old.get(c.id) !== JSON.stringify(c))
      .map((c) => c.id),
  };
}

/** Every component that depends on one of `ids`, directly or through others. */
export function dependentsOf(pipeline: Pipeline, ids: readonly string[]): Set<string> {
  const found = new Set<string>();
  const queue = [...ids];
  while (queue.length > 0) {
    const id = queue.shift() ?? "";
    for (const component of pipeline.components) {
      const dependsOnIt = component.inputs.includes(id) ||
        component.dependsOn.some((dependency) => dependency.id === id);
      if (dependsOnIt && !found.has(component.id)) {
        found.add(component.id);
        queue.push(component.id);
      }
    }
  }
  for (const id of ids) found.delete(id);
  return found;
}

/**
 * The components restarted around a reload: those that depend on a changed or added one, not
 * themselves replaced or new, and running (`isRunning`).
 */
export function restartedDependents(
  next: Pipeline,
  summary: Omit<ReloadSummary, "dependents">,
  isRunning: (id: string) => boolean,
): string[] {
  const replaced = new Set([...summary.changed, ...summary.removed]);
  return [...dependentsOf(next, [...summary.changed, ...summary.added])]
    .filter((id) => !replaced.has(id) && !summary.added.includes(id))
    .filter(isRunning);
}
