/**
 * What the data path process tells flowctl: one line on its standard output per record, a marker
 * then JSON. The runner turns them into run events (edge decisions, edge_stats, finished sinks);
 * they also stay in the data path's log.
 */
import * as v from "valibot";

export const REPORT_MARKER = "@flowctl-data-path ";

const EdgeDecisionSchema = v.object({
  type: v.literal("edge"),
  from: v.string(),
  to: v.string(),
  mode: v.picklist(["driven", "direct"]),
  reason: v.string(),
});

const EdgeStatsSchema = v.object({
  type: v.literal("edge_stats"),
  from: v.string(),
  to: v.string(),
  events: v.number(),
  bytes: v.number(),
  eventsPerSecond: v.number(),
  bytesPerSecond: v.number(),
  /** Events dropped on this edge while its consumer was down with a full buffer. */
  dropped: v.number(),
  /** Events not sent because the consumer does not accept their type (input_event_types). */
  filtered: v.optional(v.number(), 0),
});

const SinkFinishedSchema = v.object({
  type: v.literal("sink_finished"),
  sink: v.string(),
  consumed: v.number(),
});

const ReattachedSchema = v.object({
  type: v.literal("reattached"),
  component: v.string(),
  attempt: v.number(),
  /** Events the lost attempt took and did not answer or confirm (may be lost). */
  unconfirmed: v.number(),
  /** Events a source sends again (resumed from an earlier position). */
  repeated: v.number(),
});

export const ReportSchema = v.variant("type", [
  EdgeDecisionSchema,
  EdgeStatsSchema,
  SinkFinishedSchema,
  ReattachedSchema,
]);

export type DataPathReport = v.InferOutput<typeof ReportSchema>;

/** The line that carries `report`. */
export function formatReport(report: DataPathReport): string {
  return REPORT_MARKER + JSON.stringify(report);
}

/** The report a line carries, or undefined for any other line. */
export function parseReport(line: string): DataPathReport | undefined {
  const at = line.indexOf(REPORT_MARKER);
  if (at < 0) return undefined;
  try {
    const parsed = v.safeParse(ReportSchema, JSON.parse(line.slice(at + REPORT_MARKER.length)));
    return parsed.success ? parsed.output : undefined;
  } catch {
    return undefined;
  }
}
