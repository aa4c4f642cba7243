/**
 * The dashboard of one run: it remembers the run's events from the start (cheaply, whether or
 * not a page is ever opened) and serves the page once asked: at start with `run --ui`, or later
 * when `flowctl ui` asks the running flowctl over its admin socket.
 */
import type { OrchestratorKind, Pipeline } from "../config/mod.ts";
import type { RunnerEvent } from "../runner/events.ts";
import type { RunObserver, RunView } from "../runner/run_view.ts";
import { UserError } from "../user_error.ts";
import { DashboardFeed } from "./dashboard_feed.ts";
import type { DashboardServer } from "./dashboard_server.ts";
import { loadLater } from "../load_later.ts";

/** Where the dashboard listens; loopback on a free port unless the user says otherwise. */
export interface DashboardAddress {
  hostname: string;
  port: number;
}

export const DEFAULT_DASHBOARD_ADDRESS: DashboardAddress = { hostname: "127.0.0.1", port: 0 };

class NotStartedError extends UserError {
  override name = "NotStartedError";
}

/** A run's dashboard: feed it every event, attach the run once it exists, ask for its URL. */
export class Dashboard implements RunObserver, AsyncDisposable {
  readonly #feed: DashboardFeed;
  readonly #pending: RunView;
  readonly #orchestrator: OrchestratorKind;
  #view: RunView | undefined;
  #server: Promise<DashboardServer> | undefined;

  constructor(pipeline: Pipeline, options: { heartbeatMs: number }) {
    this.#feed = new DashboardFeed({ heartbeatMs: options.heartbeatMs });
    this.#orchestrator = pipeline.orchestrator;
    this.#pending = {
      runId: "",
      pipeline: () => pipeline,
      snapshot: () =>
        pipeline.components.map((c) => ({ id: c.id, kind: c.kind, phase: "pending", restarts: 0 })),
      registrations: () => [],
      control: () => Promise.reject(new NotStartedError("the pipeline has not started yet")),
    };
  }

  /** Records one of the run's events. */
  record(event: RunnerEvent): void {
    this.#feed.record(event);
  }

  /** The running session's view, once its components' runner exists. */
  attach(view: RunView): void {
    this.#view = view;
  }

  /**
   * Starts serving at `address` (the first call; later ones change nothing) and returns the
   * page's URL with its token. The server and its page load only now: most runs never serve one,
   * and `flowctl run` starts its components sooner without them.
   * @throws {UserError} when it cannot listen there.
   */
  async start(address: DashboardAddress = DEFAULT_DASHBOARD_ADDRESS): Promise<string> {
    this.#server ??= loadLater<typeof import("./dashboard_server.ts")>(
      new URL("./dashboard_server.ts", import.meta.url),
    ).then(({ DashboardServer }) =>
      DashboardServer.start({
        ...address,
        feed: this.#feed,
        view: () => this.#view ?? this.#pending,
        orchestrator: this.#orchestrator,
      })
    );
    return (await this.#server).url;
  }

  /** `flowctl ui`: the URL, serving on loopback and a free port unless `run --ui` started it. */
  url(): Promise<string> {
    return this.start();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const server = await this.#server?.catch(() => undefined);
    await server?.[Symbol.asyncDispose]();
  }
}
