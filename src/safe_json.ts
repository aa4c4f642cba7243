/**
 * `text` parsed as JSON, or undefined when it is none: what comes from outside (an engine, a
 * registry, a helper program, a config file) is then judged by a schema, not by a try at each
 * parse.
 */
export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
