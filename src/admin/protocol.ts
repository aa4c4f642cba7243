/**
 * The admin channel between `flowctl restart|stop|start|exec` and the running flowctl: HTTP
 * over a unix socket in the state folder (mode 0600, so only the same user can open it). Both
 * sides validate what they receive with these schemas.
 */
import { join } from "node:path";
import * as v from "valibot";
import { ORCHESTRATOR_KINDS } from "../config/pipeline.ts";
import { stateDir } from "../state/state_file.ts";

/** The admin socket of `pipeline`'s run: `<state dir>/<pipeline>.sock`. */
export function adminSocketPath(pipeline: string): string {
  return join(stateDir(), `${pipeline}.sock`);
}

export const ControlRequestSchema = v.strictObject({
  action: v.picklist(["restart", "stop", "start"]),
  components: v.pipe(v.array(v.string()), v.minLength(1)),
  withDependents: v.boolean(),
});
export type ControlRequest = v.InferOutput<typeof ControlRequestSchema>;

export const ControlResponseSchema = v.object({
  results: v.array(
    v.object({
      component: v.string(),
      action: v.picklist(["restart", "stop", "start"]),
      ok: v.boolean(),
      note: v.optional(v.string()),
      reason: v.optional(v.string()),
    }),
  ),
});
export type ControlResponse = v.InferOutput<typeof ControlResponseSchema>;

export const ExecContextRequestSchema = v.strictObject({
  component: v.string(),
  /** Which instance of a component with `replicas: N` (default 1). */
  replica: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
});

/** What `flowctl exec` needs to run a command beside a component. */
export const ExecContextSchema = v.object({
  component: v.string(),
  orchestrator: v.picklist(ORCHESTRATOR_KINDS),
  workingDir: v.string(),
  /** The component's environment (process mode), sent only over the admin socket. */
  env: v.record(v.string(), v.string()),
  containerId: v.optional(v.string()),
});
export type ExecContext = v.InferOutput<typeof ExecContextSchema>;

export const ErrorResponseSchema = v.object({ error: v.string() });

/** `flowctl ui`: where the run's dashboard answers, its token in the query. */
export const DashboardResponseSchema = v.object({ url: v.pipe(v.string(), v.url()) });
