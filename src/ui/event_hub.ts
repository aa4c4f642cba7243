/**
 * The dashboard's live side: server-sent event streams to open pages, and the once-a-second
 * tick that samples rates (always) and usage (while a page is open). A change reaches the pages
 * within 100 ms of its event; unchanged state is not sent again.
 */
import type { OrchestratorKind, Pipeline } from "../config/mod.ts";
import type { RunView } from "../runner/run_view.ts";
import type { DashboardFeed, TimelineEntry } from "./dashboard_feed.ts";
import { dataEdges, initPayload, statePayload } from "./dashboard_view.ts";
import { UsageSampler } from "./usage_sampler.ts";

const TICK_MS = 1_000;
/** Events close together go out as one frame. */
const COALESCE_MS = 100;
/** Usage is sampled every this many ticks. */
const USAGE_EVERY_TICKS = 2;

const encoder = new TextEncoder();

/** One server-sent event. */
export function sseFrame(event: string, data: unknown): Uint8Array {
  return encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** Open event streams, fed from the run's feed and view. */
export class EventHub implements AsyncDisposable {
  readonly #feed: DashboardFeed;
  readonly #view: () => RunView;
  /** Open streams, each with the pipeline its last `init` showed. */
  readonly #clients = new Map<ReadableStreamDefaultController<Uint8Array>, Pipeline>();
  readonly #sampler: UsageSampler;
  readonly #unsubscribe: () => void;
  readonly #timer: ReturnType<typeof setInterval>;
  #pending: TimelineEntry[] = [];
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #lastState = "";
  #ticks = 0;
  #sampling: Promise<void> | undefined;
  #closed = false;

  constructor(feed: DashboardFeed, view: () => RunView, orchestrator: OrchestratorKind) {
    this.#feed = feed;
    this.#view = view;
    this.#sampler = new UsageSampler(orchestrator);
    this.#unsubscribe = feed.subscribe((entry) => {
      if (entry) this.#pending.push(entry);
      this.#flushTimer ??= setTimeout(() => this.#flush(), COALESCE_MS);
    });
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
  }

  /** A new event stream: `init` first, then `timeline`, `state` and `rates` frames. */
  open(): ReadableStream<Uint8Array> {
    let self: ReadableStreamDefaultController<Uint8Array> | undefined;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        // A page reconnecting while flowctl shuts down gets an ended stream, not a held one.
        if (this.#closed) return controller.close();
        self = controller;
        this.#clients.set(controller, this.#init(controller));
      },
      cancel: () => {
        if (self) this.#clients.delete(self);
      },
    });
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Sends `client` an init of the pipeline as it is now, and returns that pipeline. */
  #init(client: ReadableStreamDefaultController<Uint8Array>): Pipeline {
    const view = this.#view();
    client.enqueue(sseFrame("init", initPayload(view, this.#feed, this.#sampler, Date.now())));
    return view.pipeline();
  }

  #broadcast(frame: Uint8Array): void {
    for (const client of this.#clients.keys()) {
      try {
        client.enqueue(frame);
      } catch {
        this.#clients.delete(client);
      }
    }
  }

  /** Sends the new timeline entries and the state, when it changed. */
  #flush(): void {
    this.#flushTimer = undefined;
    const view = this.#view();
    if (this.#clients.size === 0) {
      this.#pending = [];
      return;
    }
    const pipeline = view.pipeline();
    for (const [client, shown] of this.#clients) {
      // `run --watch` changed the pipeline: the page redraws from a new init.
      if (shown === pipeline) continue;
      try {
        this.#clients.set(client, this.#init(client));
      } catch {
        this.#clients.delete(client);
      }
    }
    if (this.#pending.length > 0) this.#broadcast(sseFrame("timeline", this.#pending));
    this.#pending = [];
    const state = statePayload(view, this.#feed, this.#sampler, Date.now());
    const text = JSON.stringify({ ...state, at: 0 });
    if (text === this.#lastState) return;
    this.#lastState = text;
    this.#broadcast(sseFrame("state", state));
  }

  #tick(): void {
    const view = this.#view();
    const now = Date.now();
    this.#feed.rates.observeHeartbeats(view.registrations());
    const edges = dataEdges(view.pipeline());
    this.#feed.rates.sample(edges, now);
    if (this.#clients.size === 0) return;
    this.#broadcast(
      sseFrame("rates", {
        at: now,
        edges: Object.fromEntries(
          edges.map(({ from, to }) => [`${from}->${to}`, this.#feed.rates.rate(from, to, now)]),
        ),
      }),
    );
    if (++this.#ticks % USAGE_EVERY_TICKS === 0 && !this.#sampling) {
      this.#sampling = this.#sampler.sample(view.snapshot(), view.runId)
        .catch(() => {})
        .finally(() => this.#sampling = undefined);
    }
    this.#flush();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#flushTimer);
    // The pages keep the final picture: the run's last events reach them before the end.
    this.#flush();
    this.#unsubscribe();
    for (const client of this.#clients.keys()) {
      try {
        client.close();
      } catch {
        // already closed by the page
      }
    }
    this.#clients.clear();
    await this.#sampling;
  }
}
