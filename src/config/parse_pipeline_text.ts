/** Pipeline text parsed with the YAML parser: what every caller uses but `flowctl run`'s start. */
import {
  type ParsedPipeline,
  type ParsePipelineOptions,
  parsePipelineSource,
} from "./parse_pipeline.ts";
import { parseYamlSource } from "./yaml_source.ts";

/**
 * Parses, validates and interpolates a pipeline file.
 * @throws {ConfigError} with every problem found, each with line, column and path.
 */
export function parsePipeline(text: string, options: ParsePipelineOptions): ParsedPipeline {
  return parsePipelineSource(text, { ...options, readYaml: parseYamlSource });
}
