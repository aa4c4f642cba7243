/** What the parsePipeline() tests share: options, the file header, issues as one line each. */
import { ConfigError } from "./config_error.ts";
import { parsePipeline } from "./parse_pipeline_text.ts";
import type { ParsePipelineOptions } from "./parse_pipeline.ts";

export const base: ParsePipelineOptions = { file: "p.yaml", dir: "/work", env: {} };

/** The issues of `text` as `line:column path message`; none when it parses. */
export function issuesOf(text: string, options: Partial<ParsePipelineOptions> = {}) {
  try {
    parsePipeline(text, { ...base, ...options });
  } catch (error) {
    if (error instanceof ConfigError) {
      return error.issues.map((i) => `${i.line}:${i.column} ${i.path} ${i.message}`);
    }
    throw error;
  }
  return [];
}

export const header = "apiVersion: flowctl/v1\nkind: Pipeline\nmetadata:\n  name: demo\nspec:\n";
