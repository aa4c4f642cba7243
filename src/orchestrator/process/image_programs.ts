/**
 * Process mode without `command`: the executable of a registry component or an `image`, from
 * flowctl's cache (check) or pulled (open), and the event types its metadata declares.
 */
import {
  type Component,
  describeMismatch,
  eventTypeMismatches,
  type Pipeline,
} from "../../config/mod.ts";
import type { ImageProgram } from "../../registry/component_image.ts";
import { UserError } from "../../user_error.ts";
import { type OpenOptions, PreflightError } from "../orchestrator.ts";
import { loadLater } from "../../load_later.ts";

/**
 * Checks, from the cache only, a component that runs an executable of an image: a cached image
 * must hold it; an image not cached yet is pulled by open(), unless `pull_policy: never`.
 */
export async function checkImageProgram(component: Component): Promise<string | undefined> {
  const target = component.fromImage;
  if (!target) return undefined;
  const { cachedImageProgram } = await loadLater<
    typeof import("../../registry/component_image.ts")
  >(
    new URL("../../registry/component_image.ts", import.meta.url),
  );
  try {
    const cached = await cachedImageProgram(target);
    if (!cached && component.pullPolicy === "never") {
      return `component "${component.id}": image "${target.reference}" is not in flowctl's cache and pull_policy is "never" (run "flowctl pull")`;
    }
    return undefined;
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return `component "${component.id}": ${error.message}`;
  }
}

/**
 * Event types that never meet once the metadata of registry components is known (what the file
 * alone shows was checked at load): a warning, or with `--strict` a refusal.
 */
export function checkMetadataEventTypes(
  pipeline: Pipeline,
  programs: ReadonlyMap<string, ImageProgram>,
  options: OpenOptions,
): void {
  if (programs.size === 0) return;
  const fromFile = new Set(
    eventTypeMismatches(pipeline.components).map((m) => `${m.component}<${m.input}`),
  );
  const withMetadata = eventTypeMismatches(pipeline.components, (c) => {
    const metadata = programs.get(c.id)?.metadata;
    return {
      accepts: c.inputEventTypes.length > 0 ? c.inputEventTypes : metadata?.consumes ?? [],
      produces: c.outputEventTypes.length > 0 ? c.outputEventTypes : metadata?.produces ?? [],
    };
  }).filter((m) => !fromFile.has(`${m.component}<${m.input}`));
  const problems = withMetadata.map((m) =>
    `component "${m.component}": ${describeMismatch(m)} (types from component metadata)`
  );
  if (problems.length === 0) return;
  if (options.strictEventTypes) throw new PreflightError(problems);
  for (const problem of problems) options.onNotice?.(`warning: ${problem}`);
}

/**
 * Pulls (or finds in the cache) the image of every component that runs an executable of one.
 * @throws {PreflightError} naming each component whose image could not be resolved.
 */
export async function resolveImagePrograms(
  pipeline: Pipeline,
  options: OpenOptions,
): Promise<Map<string, ImageProgram>> {
  const programs = new Map<string, ImageProgram>();
  const wanted = pipeline.components.filter((c) => c.fromImage);
  if (wanted.length === 0) return programs;
  // Loaded only here: pipelines of commands do not pay for the registry client.
  const { resolveImageProgram } = await loadLater<
    typeof import("../../registry/component_image.ts")
  >(
    new URL("../../registry/component_image.ts", import.meta.url),
  );
  const problems: string[] = [];
  for (const component of wanted) {
    const target = component.fromImage;
    if (!target) continue;
    try {
      const program = await resolveImageProgram(target, {
        signal: options.signal,
        refresh: component.pullPolicy === "always",
        onProgress: (p) =>
          options.onPullProgress?.(
            component.id,
            `layer ${p.index}/${p.count} ${p.digest.slice(7, 19)} ${megabytes(p.received)}/${
              megabytes(p.size)
            } MB`,
          ),
      });
      if (!program.image.cached) {
        options.onNotice?.(
          `Pulled image "${target.reference}" (${program.image.digest}) for component ${component.id}`,
        );
      }
      programs.set(component.id, program);
    } catch (error) {
      if (options.signal.aborted || !(error instanceof UserError)) throw error;
      problems.push(`component "${component.id}": ${error.message}`);
    }
  }
  if (problems.length > 0) throw new PreflightError(problems);
  return programs;
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
