/** Step "read document" of parsePipelineSource: the text's limits, then its YAML. */
import { ConfigError } from "./config_error.ts";
import type { IssueCollector } from "./_issues.ts";
import { MAX_ALIAS_COUNT, type YamlSource } from "./yaml_path.ts";

/** Pipeline files larger than this are refused before parsing. */
export const MAX_PIPELINE_BYTES = 1024 * 1024;

/**
 * Step "read document": size and NUL checks, YAML syntax, aliases, an empty file. Any problem
 * here ends parsing, since nothing after it has a document to check.
 */
export function readDocument(
  text: string,
  readYaml: (text: string) => YamlSource,
  issues: IssueCollector,
): unknown {
  const start = { line: 1, column: 1 };
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > MAX_PIPELINE_BYTES) {
    issues.add(
      { line: 0, column: 0 },
      [],
      `file is ${bytes} bytes; pipeline files are limited to ${MAX_PIPELINE_BYTES} bytes`,
    );
  } else if (text.includes("\0")) {
    issues.add({ line: 0, column: 0 }, [], "file contains NUL bytes; it is not a YAML text file");
  }
  issues.throwIfAny();

  let source: YamlSource;
  let data: unknown;
  try {
    source = readYaml(text);
    for (const error of source.syntaxErrors) {
      issues.add(error, [], `YAML syntax error: ${error.message}`);
    }
    issues.throwIfAny("found");
    data = source.toJS();
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    issues.add(start, [], unreadableReason(error));
    return issues.fail({ cause: error });
  }
  issues.attach(source);
  if (data === null || data === undefined) {
    issues.add(start, [], "the file is empty; expected a Pipeline document");
  }
  issues.throwIfAny();
  return data;
}

function unreadableReason(error: unknown): string {
  if (error instanceof RangeError && /call stack/.test(error.message)) {
    return "the document is nested too deeply";
  }
  if (error instanceof Error && /alias/i.test(error.message)) {
    return `too many alias expansions (more than ${MAX_ALIAS_COUNT}); alias bombs are refused`;
  }
  return `cannot read YAML: ${error instanceof Error ? error.message : String(error)}`;
}
