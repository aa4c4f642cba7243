/**
 * What the dashboard learns from the run's events: the timeline (the NDJSON events, bounded),
 * each component's last probe result and registration, the pipeline's own state, and the data
 * path's edge figures. It exists for the whole run, so a dashboard opened later (`flowctl ui`)
 * still shows the history. Pure state with an injected clock.
 */
import type { RunnerEvent } from "../runner/events.ts";
import { describeExit } from "../orchestrator/orchestrator.ts";
import { EdgeRates } from "./edge_rates.ts";

/** Timeline entries kept; older ones are dropped first. */
export const TIMELINE_CAPACITY = 2_000;

/** One event of the timeline, in the shape `--output json` prints it, with a sequence number. */
export type TimelineEntry = { seq: number; time: string; event: string } & Record<string, unknown>;

export type PipelineState =
  | "starting"
  | "running"
  | "stopping"
  | "stopped"
  | "completed"
  | "failed";

export interface ProbeResult {
  ok: boolean;
  text: string;
  time: number;
}

/** What the events told about one component. */
export interface ComponentFacts {
  lastProbe?: ProbeResult;
  /** How it registered with the control plane (`component_id`, `peer identity`...). */
  registeredVia?: string;
  lastExit?: string;
}

/** How the data path decided an edge's events move, and why. */
export interface EdgeDecision {
  mode: "driven" | "direct";
  reason: string;
}

export interface DashboardFeedOptions {
  heartbeatMs: number;
  now?: () => number;
}

/** The dashboard's memory of a run, fed with every runner event. */
export class DashboardFeed {
  readonly rates: EdgeRates;
  readonly #now: () => number;
  readonly #timeline: TimelineEntry[] = [];
  readonly #facts = new Map<string, ComponentFacts>();
  readonly #decisions = new Map<string, EdgeDecision>();
  readonly #listeners = new Set<(entry: TimelineEntry | undefined) => void>();
  #seq = 0;
  #state: PipelineState = "starting";
  #failure: string | undefined;

  constructor(options: DashboardFeedOptions) {
    this.#now = options.now ?? Date.now;
    this.rates = new EdgeRates(options.heartbeatMs);
  }

  get state(): PipelineState {
    return this.#state;
  }

  /** Why the pipeline failed, once it did. */
  get failure(): string | undefined {
    return this.#failure;
  }

  /** Records one runner event. */
  record(event: RunnerEvent): void {
    const now = this.#now();
    if (event.type === "edge_stats") {
      // Figures, not history: they go to the rates, not to the timeline.
      this.rates.observeEdge(event, now);
      this.#notify(undefined);
      return;
    }
    this.#learn(event, now);
    const { type, ...fields } = event;
    const entry: TimelineEntry = {
      seq: ++this.#seq,
      time: new Date(now).toISOString(),
      event: type,
      ...fields,
    };
    this.#timeline.push(entry);
    if (this.#timeline.length > TIMELINE_CAPACITY) this.#timeline.shift();
    this.#notify(entry);
  }

  /** The timeline so far, oldest first. */
  timeline(): readonly TimelineEntry[] {
    return this.#timeline;
  }

  facts(component: string): ComponentFacts {
    return this.#facts.get(component) ?? {};
  }

  /** How the edge `from->to` moves its events, once the data path decided it. */
  decision(key: string): EdgeDecision | undefined {
    return this.#decisions.get(key);
  }

  /** Calls `listener` after each recorded event (undefined: figures changed, no new entry). */
  subscribe(listener: (entry: TimelineEntry | undefined) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #notify(entry: TimelineEntry | undefined): void {
    for (const listener of this.#listeners) listener(entry);
  }

  #learn(event: Exclude<RunnerEvent, { type: "edge_stats" }>, now: number): void {
    const facts = (id: string) => {
      let known = this.#facts.get(id);
      if (!known) this.#facts.set(id, known = {});
      return known;
    };
    switch (event.type) {
      case "component_waiting":
        if (event.lastProbe) facts(event.component).lastProbe = probe(false, event.lastProbe, now);
        break;
      case "component_healthy":
        facts(event.component).lastProbe = probe(
          true,
          event.checked ? "passed" : "running (no health check)",
          now,
        );
        break;
      case "component_unhealthy":
        facts(event.component).lastProbe = probe(false, event.reason, now);
        break;
      case "component_liveness_failed":
        facts(event.component).lastProbe = probe(
          false,
          `${event.failures} failed in a row`,
          now,
        );
        break;
      case "component_registered":
        facts(event.component).registeredVia = event.via;
        break;
      case "edge_decided":
        this.#decisions.set(`${event.from}->${event.to}`, {
          mode: event.mode,
          reason: event.reason,
        });
        break;
      case "component_exited":
      case "component_stopped":
        facts(event.component).lastExit = describeExit(event.exit);
        break;
      case "pipeline_started":
        this.#state = "running";
        break;
      case "pipeline_stopping":
        this.#state = "stopping";
        break;
      case "pipeline_stopped":
        if (this.#state !== "failed") this.#state = "stopped";
        break;
      case "pipeline_completed":
        this.#state = "completed";
        break;
      case "pipeline_failed":
        this.#state = "failed";
        this.#failure = event.reason;
        break;
    }
  }
}

function probe(ok: boolean, text: string, time: number): ProbeResult {
  return { ok, text, time };
}
