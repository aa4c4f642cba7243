/**
 * Source positions saved by the data path (a small JSON file), so that a data path restarted
 * during the run resumes each source from the ledger it had got to instead of from its start.
 */
import * as v from "valibot";
import type { SourcePosition } from "./pumps.ts";

const PositionsSchema = v.record(
  v.string(),
  v.object({
    delivered: v.number(),
    ledger: v.optional(v.string()),
    index: v.optional(v.number()),
    /** The StreamRequest params the position was reached with. */
    params: v.optional(v.record(v.string(), v.string())),
  }),
);

/**
 * The positions saved in `path`; none when it is missing or unreadable. A source whose params
 * changed since (`run --watch`: a new START_LEDGER) starts over: its position is left out.
 */
export function loadPositions(
  path: string,
  paramsOf: (id: string) => Readonly<Record<string, string>> | undefined,
): Map<string, SourcePosition> {
  try {
    const parsed = v.safeParse(PositionsSchema, JSON.parse(Deno.readTextFileSync(path)));
    if (!parsed.success) return new Map();
    const current = Object.entries(parsed.output).filter(([id, saved]) =>
      JSON.stringify(saved.params ?? {}) === JSON.stringify(paramsOf(id) ?? {})
    );
    return new Map(
      current.map(([id, saved]) => [id, {
        delivered: saved.delivered,
        ...(saved.params ? { params: saved.params } : {}),
        ...(saved.ledger !== undefined
          ? { cursor: { ledger: BigInt(saved.ledger), index: saved.index ?? 0 } }
          : {}),
      }]),
    );
  } catch {
    return new Map();
  }
}

/** Saves `positions` to `path` (written aside, then renamed: never half a file). */
export function savePositions(path: string, positions: ReadonlyMap<string, SourcePosition>): void {
  const saved: v.InferOutput<typeof PositionsSchema> = {};
  for (const [id, position] of positions) {
    saved[id] = {
      delivered: position.delivered,
      ...(position.params ? { params: { ...position.params } } : {}),
      ...(position.cursor
        ? { ledger: String(position.cursor.ledger), index: position.cursor.index }
        : {}),
    };
  }
  try {
    Deno.writeTextFileSync(`${path}.tmp`, JSON.stringify(saved));
    Deno.renameSync(`${path}.tmp`, path);
  } catch {
    // a position not saved only means a restarted data path repeats more
  }
}
