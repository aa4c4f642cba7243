/** The labels flowctl puts on every engine object it creates, so it can find its own. */

export const LABEL_PIPELINE = "dev.flowctl.pipeline";
export const LABEL_COMPONENT = "dev.flowctl.component";
export const LABEL_RUN = "dev.flowctl.run-id";

/** The labels of every object of one run of `pipeline`. */
export function runLabels(pipeline: string, runId: string): Record<string, string> {
  return { [LABEL_PIPELINE]: pipeline, [LABEL_RUN]: runId };
}
/** Replica number (1..N) of a component's container when it has several. */
export const LABEL_REPLICA = "dev.flowctl.replica";
