/**
 * The data path process of a run, supervised like a component (status, logs, events, restarts
 * with backoff, stopped first at shutdown): started once flowctl-sdk v1 components registered on
 * both ends of an edge, it reports its decisions, per-edge rates and finished sinks on its
 * output (src/datapath/report.ts), which become run events here.
 */
import type { Component, Pipeline } from "../config/mod.ts";
import {
  carryEdges,
  type DataPathPlan,
  planChange,
  planDataPath,
  type PlannedEdge,
} from "../datapath/plan.ts";
import type { Reach } from "../datapath/decide.ts";
import {
  HOSTS_VARIABLE,
  NOTHING_DRIVEN,
  PLAN_VARIABLE,
  POSITIONS_VARIABLE,
} from "../datapath/plan_schema.ts";
import { type DataPathReport, parseReport } from "../datapath/report.ts";
import { delay } from "../delay.ts";
import { LogFile } from "../logs/log_file.ts";
import { ComponentFailedError, type OrchestratorRun } from "../orchestrator/orchestrator.ts";
import { ComponentSupervisor } from "./component_supervisor.ts";
import type { ControlAction, ControlResult } from "./control_order.ts";
import type { RegistrationWatcher } from "./readiness.ts";
import type { ComponentSnapshot, EdgeSnapshot, RunnerEvent } from "./events.ts";
import { RUNNING } from "./reload_plan.ts";

/** What the runner needs to run a data path: its component, plan, and a run that starts it. */
export interface DataPathSetup {
  component: Component;
  plan: DataPathPlan;
  edges: PlannedEdge[];
  run: OrchestratorRun;
}

export interface DataPathSupervisionOptions {
  logDir: string;
  stop: AbortSignal;
  onEvent(event: RunnerEvent): void;
  onOutput?(componentId: string, lines: Uint8Array): void;
  registrations?: RegistrationWatcher;
  onHandleChanged?(): void;
  /** Where flowctl's host reaches each component (container and swarm mode), by id. */
  reach?(): Record<string, Reach>;
}

/** What the runner hears from its data path. */
export interface DataPathListener {
  /** The data path failed for good (its restarts used up, or it could not start). */
  failed(error: ComponentFailedError): void;
  /** A driven sink's Consume returned: the sink has finished. */
  finished(sink: string): void;
}

const WATCH_MS = 200;
/** How often the registrations are looked at until an edge may be driven (a map lookup). */
const READY_WATCH_MS = 20;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class DataPathSupervision {
  readonly #setup: DataPathSetup;
  readonly #options: DataPathSupervisionOptions;
  #edges: EdgeSnapshot[];
  /** The edges as planned from the file, before run-time decisions. */
  #planned: PlannedEdge[];
  /** The run's stop signal once start() was called; undefined before. */
  #started: AbortSignal | undefined;
  /** Waiting for registrations or deciding: a reload's new plan is picked up by that wait. */
  #waiting = false;
  #supervisor: ComponentSupervisor | undefined;
  #log: LogFile | undefined;
  #hostsTimer: ReturnType<typeof setInterval> | undefined;
  #hostsWritten = "";
  #listener: DataPathListener | undefined;
  /** Ends the wait for registrations and the decision at stop(). */
  readonly #watch = new AbortController();

  constructor(setup: DataPathSetup, options: DataPathSupervisionOptions) {
    this.#setup = setup;
    this.#options = options;
    this.#edges = setup.edges.map((e) => ({ ...e }));
    this.#planned = setup.edges;
  }

  get id(): string {
    return this.#setup.component.id;
  }

  /** Every edge of the pipeline, direct or driven, with its rates once it is driven. */
  edges(): EdgeSnapshot[] {
    return this.#edges.map((e) => ({ ...e }));
  }

  snapshot(): ComponentSnapshot | undefined {
    return this.#supervisor?.snapshot();
  }

  /**
   * A request of `flowctl restart|stop|start` for the data path, served like a component's;
   * refused while it has not started (no edge driven yet, or none at all).
   */
  async control(action: ControlAction): Promise<ControlResult> {
    const requests = this.#supervisor?.requests;
    if (!requests) {
      return {
        component: this.id,
        action,
        ok: false,
        reason: "the data path is not running (it starts once it drives an edge)",
      };
    }
    const result = action === "restart"
      ? await requests.restart()
      : action === "stop"
      ? await requests.stop()
      : await requests.start();
    return { component: this.id, action, ...result };
  }

  attach(listener: DataPathListener): void {
    this.#listener = listener;
  }

  /**
   * Starts the data path, in the background, once both ends of an edge that may be driven
   * registered through flowctl.v1 with their role and an endpoint (or are forced driven) and the
   * decision drives one; not after `signal` aborts or stop().
   */
  start(signal: AbortSignal): void {
    this.#started = signal;
    this.#waiting = true;
    this.#run(AbortSignal.any([signal, this.#watch.signal])).catch((error) => {
      this.#listener?.failed(
        error instanceof ComponentFailedError
          ? error
          : new ComponentFailedError(this.id, `the data path failed: ${error}`, { cause: error }),
      );
    }).finally(() => this.#waiting = false);
  }

  /**
   * `run --watch`: follows the changed pipeline. Edges kept keep what is known of them; when the
   * plan changed, the data path runs the new one: restarted with it when running, started when
   * it was not needed before, or picked up by the wait for registrations.
   */
  async follow(pipeline: Pipeline): Promise<void> {
    const { plan, edges } = planDataPath(pipeline);
    const next = plan ?? { ...this.#setup.plan, components: [], edges: [] };
    this.#edges = carryEdges(edges, this.#planned, this.#edges);
    this.#planned = edges;
    const change = planChange(this.#setup.plan, next);
    if (!change) return;
    this.#setup.plan = next;
    const { run } = this.#setup;
    run.envs.set(this.id, { ...run.envs.of(this.id), [PLAN_VARIABLE]: JSON.stringify(next) });
    const supervisor = this.#supervisor;
    const restart = supervisor !== undefined && RUNNING.includes(supervisor.phase);
    this.#options.onEvent({
      type: "notice",
      message: `The data path follows the changed file (${change})${
        restart ? `; restarting ${this.id}` : ""
      }`,
    });
    if (restart) await supervisor.requests.restart();
    else if (!supervisor && !this.#waiting && this.#started) this.start(this.#started);
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && !this.#ready()) await delay(READY_WATCH_MS, { signal });
    if (signal.aborted) return;
    this.#keepHostsCurrent();
    // Components that dial each other (and register as v1 servers too) get no data path.
    if (!await this.#decide(signal) || signal.aborted) return;
    const log = await LogFile.open(this.#options.logDir, this.id);
    // stop() may have come while the log opened: nothing is started after it.
    if (signal.aborted) return await log.close();
    this.#log = log;
    const supervisor = new ComponentSupervisor(this.#setup.component, {
      run: this.#setup.run,
      log,
      stop: this.#options.stop,
      onEvent: this.#options.onEvent,
      onOutput: (id, lines) => this.#onOutput(id, lines),
      ...(this.#options.onHandleChanged ? { onHandleChanged: this.#options.onHandleChanged } : {}),
    });
    this.#supervisor = supervisor;
    supervisor.ended.then((end) => {
      if (end.kind === "failed") this.#listener?.failed(end.error);
    });
    await supervisor.start(signal);
  }

  /** Stops the data path (its grace period cut short by `force`); idempotent. */
  async stop(force: AbortSignal): Promise<void> {
    this.#watch.abort();
    try {
      await this.#supervisor?.stop({ force });
    } finally {
      clearInterval(this.#hostsTimer);
      await this.#log?.close();
      const hosts = this.#setup.component.env[HOSTS_VARIABLE];
      if (hosts) await Deno.remove(hosts).catch(() => {});
      const positions = this.#setup.component.env[POSITIONS_VARIABLE];
      if (positions) await Deno.remove(positions).catch(() => {});
    }
  }

  /**
   * Container and swarm mode: writes where each component is reached to the data path's hosts
   * file, again whenever that changes (a restarted container or task may be elsewhere).
   */
  #keepHostsCurrent(): void {
    const file = this.#setup.component.env[HOSTS_VARIABLE];
    const reach = this.#options.reach;
    if (!file || !reach || this.#hostsTimer !== undefined) return;
    const write = () => {
      const text = JSON.stringify(reach());
      if (text === this.#hostsWritten) return;
      try {
        Deno.writeTextFileSync(`${file}.tmp`, text);
        Deno.renameSync(`${file}.tmp`, file);
        this.#hostsWritten = text;
      } catch {
        // tried again at the next tick
      }
    };
    write();
    this.#hostsTimer = setInterval(write, WATCH_MS);
  }

  /**
   * Runs the data path's decisions alone, in a short-lived child that is not a component
   * (`__data-path --decide`): whether any edge is driven. Its decisions become run events.
   */
  async #decide(signal: AbortSignal): Promise<boolean> {
    const { component, run } = this.#setup;
    const [program = "", ...args] = component.argv;
    const child = new Deno.Command(program, {
      args: [...args, "--decide"],
      env: { ...run.envs.of(component.id) },
      clearEnv: true,
      cwd: component.workingDir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const onAbort = () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
    };
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const { code, stdout, stderr } = await child.output();
      for (const line of decoder.decode(stdout).split("\n")) {
        const report = parseReport(line);
        if (report) this.#apply(report);
      }
      if (code === NOTHING_DRIVEN) return false;
      if (code !== 0 && !signal.aborted) {
        const why = decoder.decode(stderr).trim().split("\n").at(-1) ?? "";
        this.#options.onEvent({
          type: "notice",
          message: `The data path could not decide its edges (exit code ${code}): ${why}`,
        });
      }
      // A failed decision starts the data path anyway: it decides again, supervised and shown.
      return true;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Whether some edge that may be driven has both ends registered as v1 servers. */
  #ready(): boolean {
    const lookup = this.#options.registrations?.forComponent;
    const byId = new Map(this.#setup.plan.components.map((c) => [c.id, c]));
    const serves = (id: string) => {
      const component = byId.get(id);
      if (!component) return false;
      if (component.forced === "driven") return true;
      const registration = lookup?.call(this.#options.registrations, id);
      return registration?.request.protocol === "flowctl.v1" &&
        registration.request.type === component.role && !!registration.request.endpoint;
    };
    return this.#setup.plan.edges.some((e) => serves(e.from) && serves(e.to));
  }

  #onOutput(id: string, lines: Uint8Array): void {
    const kept: string[] = [];
    for (const line of decoder.decode(lines).split("\n")) {
      const report = parseReport(line);
      if (report) this.#apply(report);
      else if (line !== "") kept.push(line);
    }
    if (kept.length > 0) this.#options.onOutput?.(id, encoder.encode(`${kept.join("\n")}\n`));
  }

  #apply(report: DataPathReport): void {
    const edge = "from" in report
      ? this.#edges.find((e) => e.from === report.from && e.to === report.to)
      : undefined;
    switch (report.type) {
      case "edge":
        // The data path decides again once started: tell each decision once.
        if (!edge || (edge.mode === report.mode && edge.reason === report.reason)) return;
        edge.mode = report.mode;
        edge.reason = report.reason;
        this.#options.onEvent({
          type: "edge_decided",
          from: report.from,
          to: report.to,
          mode: report.mode,
          reason: report.reason,
        });
        return;
      case "edge_stats": {
        if (!edge) return;
        const { type: _, dropped, filtered, ...stats } = report;
        Object.assign(edge, { ...stats, dropped, filtered });
        this.#options.onEvent({ type: "edge_stats", ...stats, filtered, mode: "driven" });
        return;
      }
      case "sink_finished":
        this.#listener?.finished(report.sink);
        return;
      case "reattached":
        return;
    }
  }
}

/**
 * The data path as a component of the run: flowctl itself, re-executed with the hidden
 * `__data-path` command (under `deno run`, deno with flowctl's main module), its plan in its env.
 */
export function dataPathComponent(
  plan: DataPathPlan,
  id: string,
  options: { workingDir: string; positionsFile: string; hostsFile: string },
): Component {
  const argv = [...selfCommand(), "__data-path"];
  return {
    id,
    kind: "data-path",
    inputs: [],
    dependsOn: [],
    argv,
    command: argv,
    args: [],
    config: {},
    inputEventTypes: [],
    outputEventTypes: [],
    volumes: [],
    secrets: [],
    replicas: 1,
    workingDir: options.workingDir,
    pullPolicy: "missing",
    env: {
      [PLAN_VARIABLE]: JSON.stringify(plan),
      [POSITIONS_VARIABLE]: options.positionsFile,
      [HOSTS_VARIABLE]: options.hostsFile,
    },
    ports: [],
    restart: "on-failure",
    maxRestarts: 10,
    stopGraceMs: 5_000,
    privileged: false,
    networkMode: "bridge",
    placementConstraints: [],
    endpointMode: "dnsrr",
  };
}

/** How to run this flowctl again: the compiled executable, or deno with the main module. */
function selfCommand(): string[] {
  const exec = Deno.execPath();
  const name = exec.slice(exec.lastIndexOf("/") + 1);
  if (!name.startsWith("deno")) return [exec];
  const main = new URL(Deno.mainModule);
  if (main.protocol !== "file:") return [exec, "run", "-A", "--quiet", main.href];
  const mainPath = decodeURIComponent(main.pathname);
  const config = `${mainPath.slice(0, mainPath.lastIndexOf("/"))}/deno.json`;
  let configArgs: string[] = [];
  try {
    Deno.statSync(config);
    configArgs = ["--config", config];
  } catch {
    // no deno.json beside the main module: deno finds its own
  }
  return [exec, "run", "-A", "--quiet", ...configArgs, mainPath];
}
