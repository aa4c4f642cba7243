/**
 * `run --watch`: the pipeline file (its .env and env files too) followed while the pipeline
 * runs; each change is loaded and applied to the running pipeline, one reload at a time. An
 * invalid file, or one that cannot start, is reported and leaves the pipeline as it is.
 */
import { join } from "node:path";
import { absolutePath } from "../absolute_path.ts";
import { ConfigError, formatIssue, type Pipeline } from "../config/mod.ts";
import type { Orchestrator, OrchestratorRun } from "../orchestrator/orchestrator.ts";
import { UserError } from "../user_error.ts";
import { fingerprint, waitForChange } from "./file_watcher.ts";
import type { PipelineRunner } from "./pipeline_runner.ts";
import type { ReloadSummary } from "./reload_plan.ts";

/** What a reload needs of the run session. */
export interface ReloadHost {
  orchestrator: Orchestrator;
  runner: PipelineRunner;
  stop: AbortSignal;
  notice(message: string): void;
  /**
   * Loads the pipeline file again.
   * @throws {UserError} (a ConfigError: its located issues) when it is invalid now.
   */
  load(): Promise<Pipeline>;
  /** The session's first run, which reloads join. */
  firstRun(): OrchestratorRun | undefined;
  /** Opens a run for `part` of the pipeline (changed and new components), joining the first. */
  openRun(part: Pipeline): Promise<OrchestratorRun>;
  flushState(): Promise<void>;
}

/** Follows the pipeline's files until `host.stop` aborts or `stack` is disposed. */
export function watchPipelineFile(stack: AsyncDisposableStack, host: ReloadHost): void {
  const ended = new AbortController();
  const signal = AbortSignal.any([ended.signal, host.stop]);
  const loop = (async () => {
    let paths = watchedPaths(host.runner.pipeline);
    let seen = fingerprint(paths);
    while (true) {
      // The version is taken before loading: a write during a reload is seen next time.
      const now = await waitForChange(paths, seen, signal);
      if (now === undefined) return;
      seen = now;
      let next: Pipeline | undefined;
      try {
        next = await reloadFile(host);
      } catch (error) {
        // A bug here must not take the running pipeline down with it.
        host.notice(
          `Pipeline file changed but reloading it failed: ${
            error instanceof Error ? (error.stack ?? error.message) : String(error)
          }`,
        );
      }
      if (next) {
        const nextPaths = watchedPaths(next);
        if (nextPaths.join("\n") !== paths.join("\n")) {
          paths = nextPaths;
          seen = fingerprint(paths);
        }
      }
    }
  })();
  stack.defer(async () => {
    ended.abort();
    await loop;
  });
}

/** The files of the pipeline that `run --watch` follows: the file, its .env, its env files. */
function watchedPaths(pipeline: Pipeline): string[] {
  return [absolutePath(pipeline.file), join(pipeline.dir, ".env"), ...pipeline.envFiles];
}

/** Loads the changed file and applies it; resolves with it, or undefined when it was not. */
async function reloadFile(host: ReloadHost): Promise<Pipeline | undefined> {
  const current = host.runner.pipeline;
  const next = await loadValid(host);
  if (!next) return undefined;
  if (next.name !== current.name || next.orchestrator !== current.orchestrator) {
    host.notice(
      "Pipeline file changed its name or orchestrator; the running pipeline is left as it is (restart flowctl to apply it)",
    );
    return undefined;
  }
  const fresh = next.components.filter((c) => {
    const before = current.components.find((old) => old.id === c.id);
    return !before || JSON.stringify(before) !== JSON.stringify(c);
  });
  const removed = current.components.filter((c) => !next.components.some((n) => n.id === c.id));
  if (fresh.length === 0 && removed.length === 0) return next;
  try {
    // Changed components still hold their ports, so only new ones are checked up front.
    const added = new Set(
      fresh.filter((c) => !current.components.some((old) => old.id === c.id)).map((c) => c.id),
    );
    const first = host.firstRun();
    // A run that updates its components in place (swarm services) takes the reload itself.
    if (added.size > 0 && !first?.update) {
      await host.orchestrator.check(part(next, added), { signal: host.stop });
    }
    const run = fresh.length > 0 && !first?.update
      ? await host.openRun(part(next, new Set(fresh.map((c) => c.id))))
      : first;
    if (!run) return undefined;
    const summary = await host.runner.reload(next, run);
    host.notice(`Pipeline reloaded: ${describeReload(summary)}`);
    return next;
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    host.notice(`Pipeline file changed but cannot be applied: ${error.message}`);
    return undefined;
  } finally {
    await host.flushState();
  }
}

/** The pipeline file as it is now, or undefined (its issues reported) when it is invalid. */
async function loadValid(host: ReloadHost): Promise<Pipeline | undefined> {
  try {
    return await host.load();
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    host.notice("Pipeline file changed but is invalid; the running pipeline is left as it is:");
    if (error instanceof ConfigError) {
      for (const issue of error.issues) host.notice(formatIssue(issue));
    } else host.notice(error.message);
    return undefined;
  }
}

/** The components `ids` of `pipeline`, with its levels cut down to them. */
function part(pipeline: Pipeline, ids: ReadonlySet<string>): Pipeline {
  return {
    ...pipeline,
    components: pipeline.components.filter((c) => ids.has(c.id)),
    levels: pipeline.levels.map((level) => level.filter((id) => ids.has(id))).filter((l) =>
      l.length > 0
    ),
  };
}

/** `restarted proc (changed), sink (depends on proc); started tap (new); stopped old (removed)`. */
function describeReload(summary: ReloadSummary): string {
  const parts = [
    summary.changed.length > 0
      ? `${summary.inPlace ? "updated" : "restarted"} ${summary.changed.join(", ")} (changed${
        summary.inPlace ? ", in place" : ""
      })`
      : "",
    summary.dependents.length > 0
      ? `restarted ${summary.dependents.join(", ")} (depend on a changed component)`
      : "",
    summary.added.length > 0 ? `started ${summary.added.join(", ")} (new)` : "",
    summary.removed.length > 0 ? `stopped ${summary.removed.join(", ")} (removed)` : "",
  ];
  return parts.filter(Boolean).join("; ");
}
