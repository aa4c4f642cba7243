/**
 * `flowctl pull`: resolves and caches every image a pipeline runs its executables from in
 * process mode (registry components `type: name@version`, and `image` without `command`), so
 * that `run` later needs no network.
 */
import { formatIssue } from "../config/mod.ts";
import type { LayerProgress } from "../registry/pull_image.ts";
import { UserError } from "../user_error.ts";
import { componentRegistry, parseCommandArgs, singleFile } from "./_args.ts";
import { loadPipelineFile } from "./_load.ts";
import type { CommandModule } from "./command.ts";
import { createOutput, type Output } from "./output.ts";

const BAR_WIDTH = 24;

export const pullCommand: CommandModule = {
  help: `Usage: flowctl pull <file|-> [--component-registry R]

Resolves and caches every registry component (type: name@version) and every image that
process mode runs an executable from (image without command), for this machine's platform.
A later "flowctl run" then starts them without any network access. Each image is resolved at
its registry again, so a moved tag is followed.

Shows a progress bar on a terminal, and one line per layer otherwise.

Options:
  --component-registry R  where "type: name@version" components live (default:
                          FLOWCTL_COMPONENT_REGISTRY, else docker.io/withobsrvr)

Exit codes: 0 everything cached, 1 an image could not be pulled, 2 usage or configuration error.`,
  async run(args) {
    const { values, positionals } = parseCommandArgs("pull", args, {
      "component-registry": { type: "string" },
    });
    const out = createOutput("text");
    const file = singleFile("pull", positionals);
    const { pipeline, warnings } = await loadPipelineFile(file, {
      orchestrator: "process",
      componentRegistry: componentRegistry("pull", values["component-registry"]),
    });
    for (const warning of warnings) out.error(`warning: ${formatIssue(warning)}`);
    const targets = pipeline.components.filter((c) => c.fromImage);
    if (targets.length === 0) {
      out.line(`${file}: no registry components or images to pull`);
      return 0;
    }
    const { resolveImageProgram } = await import("../registry/component_image.ts");
    const done = new Set<string>();
    for (const component of targets) {
      const target = component.fromImage;
      if (!target) continue;
      const refresh = !done.has(target.reference);
      done.add(target.reference);
      try {
        const program = await resolveImageProgram(target, {
          refresh,
          onProgress: (p) => showProgress(out, component.id, p),
        });
        out.line(
          `${component.id}: ${target.reference} ${program.image.digest} ${
            program.image.cached ? "(cached)" : "(pulled)"
          }`,
        );
      } catch (error) {
        if (out.color) out.rawText("\r\x1b[K");
        if (!(error instanceof UserError)) throw error;
        throw new UserError(`Cannot pull component "${component.id}": ${error.message}`, {
          cause: error,
        });
      }
    }
    return 0;
  },
};

/** A bar that rewrites one line on a terminal; elsewhere one line per finished layer. */
function showProgress(out: Output, id: string, p: LayerProgress): void {
  const sizes = `${megabytes(p.received)}/${megabytes(p.size)} MB`;
  const layer = `layer ${p.index}/${p.count} ${p.digest.slice(0, 19)}`;
  if (out.color) {
    const filled = p.size > 0 ? Math.round((p.received / p.size) * BAR_WIDTH) : BAR_WIDTH;
    const bar = "#".repeat(filled) + ".".repeat(BAR_WIDTH - filled);
    out.rawText(`\r\x1b[K${id}: ${layer} [${bar}] ${sizes}`);
    if (p.done) out.rawText("\r\x1b[K");
  } else if (p.done) {
    out.line(`${id}: ${layer} ${megabytes(p.size)} MB done`);
  }
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
