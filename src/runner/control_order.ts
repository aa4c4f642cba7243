/**
 * `flowctl restart|stop|start` of several components: in dependency order (stops dependents
 * first, starts them last), optionally with every component that depends on them.
 */
import type { Pipeline } from "../config/mod.ts";
import { UserError } from "../user_error.ts";
import type { ControlRequests, RequestResult } from "./control_requests.ts";
import { dependentsOf } from "./reload_plan.ts";

/** What `flowctl restart|stop|start` asks of a running pipeline. */
export type ControlAction = "restart" | "stop" | "start";

/** The answer for one component of a control request. */
export type ControlResult = { component: string; action: ControlAction } & RequestResult;

/** A control request names a component the pipeline does not have. */
export class UnknownComponentError extends UserError {
  override name = "UnknownComponentError";
}

/**
 * Refuses ids that name no component of the running pipeline (the data path counts as one).
 * @throws {UnknownComponentError} naming the unknown ids and the known ones.
 */
export function assertKnown(
  pipeline: string,
  ids: readonly string[],
  known: readonly string[],
): void {
  const unknown = ids.filter((id) => !known.includes(id));
  if (unknown.length === 0) return;
  throw new UnknownComponentError(
    `pipeline "${pipeline}" has no component ${
      unknown.map((id) => `"${id}"`).join(", ")
    } (its components: ${known.join(", ")})`,
  );
}

/** The levels of the components asked for (with their dependents, if asked), in start order. */
export function controlLevels(
  pipeline: Pipeline,
  ids: readonly string[],
  withDependents: boolean,
): string[][] {
  const chosen = new Set(ids);
  if (withDependents) {
    for (const id of dependentsOf(pipeline, ids)) chosen.add(id);
  }
  return pipeline.levels
    .map((level) => level.filter((id) => chosen.has(id)))
    .filter((level) => level.length > 0);
}

/**
 * Acts on `levels` in dependency order, a level at a time, and resolves once each component is
 * done (ready again, for restart and start). A restart across levels is a stop of every level in
 * reverse order, then a start in order: dependents go down before what they depend on and come
 * back after it.
 */
export async function applyControl(
  action: ControlAction,
  levels: readonly (readonly string[])[],
  requestsOf: (id: string) => ControlRequests,
): Promise<ControlResult[]> {
  const results: ControlResult[] = [];
  const each = async (
    level: readonly string[],
    act: (requests: ControlRequests) => Promise<RequestResult>,
    as: ControlAction,
  ) => {
    results.push(
      ...await Promise.all(level.map(async (id) => ({
        component: id,
        action: as,
        ...await act(requestsOf(id)),
      }))),
    );
  };
  if (action === "restart" && levels.length > 1) {
    for (const level of [...levels].reverse()) {
      await each(level, (r) => r.stop({ forRestart: true }), "stop");
    }
    results.length = 0;
    for (const level of levels) await each(level, (r) => r.start(), "restart");
  } else if (action === "stop") {
    for (const level of [...levels].reverse()) await each(level, (r) => r.stop(), action);
  } else {
    for (const level of levels) {
      await each(level, (r) => action === "start" ? r.start() : r.restart(), action);
    }
  }
  return results;
}
