/** Splits a command string into argv the way a POSIX shell splits words, without running one. */

/**
 * Splits `text` on unquoted white space; single quotes are literal, double quotes allow `\"`
 * and `\\`, a backslash outside quotes escapes the next character.
 * @throws {SyntaxError} on an unclosed quote.
 */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? "";
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else word += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === "\\" && (text[i + 1] === '"' || text[i + 1] === "\\")) word += text[++i];
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === "\\" && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new SyntaxError(`unclosed ${quote === "'" ? "single" : "double"} quote`);
  if (inWord) words.push(word);
  return words;
}
