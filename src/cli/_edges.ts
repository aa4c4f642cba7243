/** How `validate` and `status` show a pipeline's data edges: direct or driven, why, and rates. */
import type { EdgeSnapshot } from "../runner/events.ts";

/** A heading and one line per edge; nothing when there are no edges. */
export function edgeLines(edges: readonly EdgeSnapshot[]): string[] {
  if (edges.length === 0) return [];
  const width = Math.max(...edges.map((e) => `${e.from} -> ${e.to}`.length));
  return [
    "Edges:",
    ...edges.map((e) => {
      const name = `${e.from} -> ${e.to}`.padEnd(width);
      const mode = e.mode === "at-run" ? "decided at run" : e.mode;
      const rates = e.events !== undefined
        ? `  ${e.events} events, ${e.eventsPerSecond ?? 0} events/s, ${
          formatRate(e.bytesPerSecond ?? 0)
        }${e.dropped ? `, ${e.dropped} dropped` : ""}${
          e.filtered ? `, ${e.filtered} filtered by type` : ""
        }`
        : "";
      return `  ${name}  ${mode}${rates}  (${e.reason})`;
    }),
  ];
}

function formatRate(bytesPerSecond: number): string {
  if (bytesPerSecond < 1024) return `${bytesPerSecond} B/s`;
  if (bytesPerSecond < 1024 * 1024) return `${(bytesPerSecond / 1024).toFixed(1)} KiB/s`;
  return `${(bytesPerSecond / 1024 / 1024).toFixed(1)} MiB/s`;
}
