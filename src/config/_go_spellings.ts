/**
 * What the Go flowctl accepts and this one spells otherwise: `apiVersion: v1` and lists under
 * `config`. Each is a warning (the file runs), or an error with `--strict`.
 */
import type { IssueCollector } from "./_issues.ts";
import type { PipelineFile } from "./schema.ts";
import type { PathSegment } from "./yaml_path.ts";

const SECTIONS = ["sources", "processors", "sinks", "pipelines"] as const;

/** Reports the Go flowctl's spellings in `file`: warnings, or errors with `strict`. */
export function goSpellings(file: PipelineFile, issues: IssueCollector, strict: boolean): void {
  const tell = (path: PathSegment[], message: string) =>
    strict ? issues.report(path, message) : issues.warn(path, message);
  if (file.apiVersion === "v1") {
    tell(["apiVersion"], 'apiVersion "v1" is the Go flowctl\'s spelling; use "flowctl/v1"');
  }
  const lists = (config: Record<string, unknown> | undefined, path: PathSegment[]) => {
    for (const [key, value] of Object.entries(config ?? {})) {
      if (Array.isArray(value)) {
        tell(
          [...path, "config", key],
          `a list under config becomes comma-separated text ("${
            value.map(String).join(",")
          }"); write it as one string`,
        );
      }
    }
  };
  lists(file.spec.config, ["spec"]);
  for (const section of SECTIONS) {
    (file.spec[section] ?? []).forEach((spec, index) =>
      lists(spec.config, ["spec", section, index])
    );
  }
}
