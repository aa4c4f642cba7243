/** Parser for `.env` files as docker compose reads them. */

/**
 * Parses `KEY=VALUE` lines (`export ` prefix allowed, `#` comments, single quotes literal,
 * double quotes with `\n`, `\t`, `\"` and `\\` escapes).
 * @throws {SyntaxError} naming the line of a malformed entry.
 */
export function parseDotenv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = (lines[index] ?? "").trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new SyntaxError(`line ${index + 1}: expected KEY=VALUE, got "${line}"`);
    const key = match[1] ?? "";
    values[key] = parseValue(match[2] ?? "", index + 1);
  }
  return values;
}

function parseValue(raw: string, lineNumber: number): string {
  const quote = raw[0];
  if (quote === "'" || quote === '"') {
    const end = closingQuote(raw, quote);
    if (end < 0) throw new SyntaxError(`line ${lineNumber}: unclosed ${quote} quote`);
    const body = raw.slice(1, end);
    if (quote === "'") return body;
    return body.replace(/\\([ntr"\\])/g, (_, c: string) => ({ n: "\n", t: "\t", r: "\r" }[c] ?? c));
  }
  const comment = raw.search(/\s#/);
  return (comment >= 0 ? raw.slice(0, comment) : raw).trim();
}

function closingQuote(raw: string, quote: string): number {
  for (let i = 1; i < raw.length; i++) {
    if (quote === '"' && raw[i] === "\\") i++;
    else if (raw[i] === quote) return i;
  }
  return -1;
}
