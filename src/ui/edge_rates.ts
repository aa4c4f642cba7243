/**
 * Rates on the pipeline's edges: from the data path's `edge_stats` events where flowctl drives
 * the edge, otherwise from the producer's heartbeat metrics (the change of its output counter
 * between two heartbeats), with a history of one point per sample for the sparklines. Pure
 * state; the caller feeds it and samples it once a second.
 */
import type { RegistrationView } from "../runner/run_view.ts";

/** Points of history kept per edge: five minutes at one sample a second. */
export const HISTORY_POINTS = 300;

export type RateSource = "data path" | "heartbeat" | "none";

export interface EdgeRate {
  eventsPerSecond: number;
  /** Known only for edges the data path drives. */
  bytesPerSecond?: number;
  /** Events carried so far (data path), or the producer's counter (heartbeat). */
  events?: number;
  source: RateSource;
  /** The heartbeat metric the rate was read from. */
  metric?: string;
}

/** Counter names that say "what this component put out", tried before any other counter. */
const OUTPUT_COUNTER = /(emitted|sent|produced|served|output|published|written)/i;
const ANY_COUNTER = /(events|messages|records|ledgers|items|processed|count|total)/i;

/**
 * The producer counter a heartbeat carries: the first numeric metric named like an output
 * (`events_emitted`, `ledgers_served`), else like any count; undefined when there is none.
 */
export function outputCounter(
  metrics: Readonly<Record<string, string>>,
): { name: string; value: number } | undefined {
  const numeric = Object.entries(metrics)
    .map(([name, text]) => ({ name, value: Number(text) }))
    .filter(({ value, name }) => Number.isFinite(value) && name.length > 0)
    .sort((a, b) => a.name.localeCompare(b.name));
  return numeric.find(({ name }) => OUTPUT_COUNTER.test(name)) ??
    numeric.find(({ name }) => ANY_COUNTER.test(name));
}

interface CounterSample {
  heartbeat: number;
  value: number;
  rate: number;
  metric: string;
}

interface DrivenSample {
  at: number;
  eventsPerSecond: number;
  bytesPerSecond: number;
  events: number;
}

/** Edge rates and their recent history, keyed `from->to`. */
export class EdgeRates {
  readonly #counters = new Map<string, CounterSample>();
  readonly #driven = new Map<string, DrivenSample>();
  readonly #history = new Map<string, number[]>();
  readonly #staleAfterMs: number;

  /** @param heartbeatMs the heartbeat interval; a counter older than three of them reads 0. */
  constructor(heartbeatMs: number) {
    this.#staleAfterMs = heartbeatMs * 3;
  }

  /** Takes the data path's figures for one edge. */
  observeEdge(
    event: {
      from: string;
      to: string;
      events: number;
      eventsPerSecond: number;
      bytesPerSecond: number;
    },
    now: number,
  ): void {
    this.#driven.set(`${event.from}->${event.to}`, {
      at: now,
      eventsPerSecond: event.eventsPerSecond,
      bytesPerSecond: event.bytesPerSecond,
      events: event.events,
    });
  }

  /** Takes the producers' latest heartbeats; a new heartbeat moves its counter's rate. */
  observeHeartbeats(registrations: readonly RegistrationView[]): void {
    for (const registration of registrations) {
      const counter = outputCounter(registration.metrics);
      if (!counter) continue;
      const before = this.#counters.get(registration.componentId);
      if (before && before.heartbeat === registration.lastHeartbeat) continue;
      const seconds = before ? (registration.lastHeartbeat - before.heartbeat) / 1000 : 0;
      // A counter that went down was reset by a restart: its rate starts again.
      const rate = before && before.metric === counter.name && seconds > 0 &&
          counter.value >= before.value
        ? (counter.value - before.value) / seconds
        : 0;
      this.#counters.set(registration.componentId, {
        heartbeat: registration.lastHeartbeat,
        value: counter.value,
        rate,
        metric: counter.name,
      });
    }
  }

  /** The rate of edge `from->to` now. */
  rate(from: string, to: string, now: number): EdgeRate {
    const driven = this.#driven.get(`${from}->${to}`);
    if (driven) {
      const fresh = now - driven.at <= 5_000;
      return {
        eventsPerSecond: fresh ? driven.eventsPerSecond : 0,
        bytesPerSecond: fresh ? driven.bytesPerSecond : 0,
        events: driven.events,
        source: "data path",
      };
    }
    const counter = this.#counters.get(from);
    if (!counter) return { eventsPerSecond: 0, source: "none" };
    return {
      eventsPerSecond: now - counter.heartbeat <= this.#staleAfterMs ? counter.rate : 0,
      events: counter.value,
      source: "heartbeat",
      metric: counter.metric,
    };
  }

  /** Appends every edge's current events/s to its history. */
  sample(edges: readonly { from: string; to: string }[], now: number): void {
    for (const { from, to } of edges) {
      const key = `${from}->${to}`;
      const points = this.#history.get(key) ?? [];
      points.push(round(this.rate(from, to, now).eventsPerSecond));
      if (points.length > HISTORY_POINTS) points.splice(0, points.length - HISTORY_POINTS);
      this.#history.set(key, points);
    }
  }

  /** The events/s history of `key` (`from->to`), oldest first. */
  history(key: string): readonly number[] {
    return this.#history.get(key) ?? [];
  }
}

/** Rates with three significant figures are plenty for a picture and keep messages short. */
export function round(value: number): number {
  return value === 0 ? 0 : Number(value.toPrecision(3));
}
