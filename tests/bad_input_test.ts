/**
 * Generated bad input: 2,000 mutated pipeline files. Validation never throws anything but a
 * ConfigError, every error is located, and each file takes under 2 s. A sample also goes
 * through the real CLI, which must exit 0 or 2 without a stack trace.
 */
import { ExitCode } from "../src/cli/exit_code.ts";
import { ConfigError } from "../src/config/config_error.ts";
import { parsePipeline } from "../src/config/parse_pipeline_text.ts";
import { assert, assertEquals } from "./assert.ts";
import { ROOT, runFlowctl, tempDir, writeTemp } from "./_helpers.ts";

const COUNT = 2000;

/** A small seeded PRNG, so a failure can be reproduced from its index. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const JUNK_VALUES = [
  "[]",
  "{}",
  "null",
  "~",
  "-1",
  "0",
  "1e309",
  "99999999999999999999999",
  "-0.5",
  "true",
  "yes",
  '"' + "x".repeat(20_000) + '"',
  "'\u202e\u0007\u001b[31m'",
  '"\\u0000"',
  "😀😀",
  "!!binary aGVsbG8=",
  "&anchor value",
  "*undefined_alias",
  "[[[[[[[[[[",
  "{a: {b: {c: [}}}",
  "\t",
  "|\n  block",
  ">-",
  "${UNSET:?boom}",
  "${components.nope.endpoint}",
  "${",
  "$${x}",
  "10x",
  "1m30",
  "65536",
  "0.0.0.0",
];

const bases = await Promise.all(
  ["examples/ttp-pipeline.yaml", "examples/hello.yaml"].map((p) =>
    Deno.readTextFile(`${ROOT}${p}`)
  ),
);

function mutate(index: number): string {
  const rand = random(index + 1);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  let lines = pick(bases).split("\n");
  const rounds = 1 + Math.floor(rand() * 3);
  for (let round = 0; round < rounds; round++) {
    const at = Math.floor(rand() * lines.length);
    const line = lines[at] ?? "";
    switch (Math.floor(rand() * 12)) {
      case 0: // delete a line
        lines.splice(at, 1);
        break;
      case 1: { // swap two lines
        const other = Math.floor(rand() * lines.length);
        [lines[at], lines[other]] = [lines[other] ?? "", line];
        break;
      }
      case 2: // a wrong value
        lines[at] = line.includes(":")
          ? `${line.slice(0, line.indexOf(":") + 1)} ${pick(JUNK_VALUES)}`
          : pick(JUNK_VALUES);
        break;
      case 3: // rename a key
        lines[at] = line.replace(
          /([a-z_]+):/,
          (_, key: string) => `${key.slice(0, -1) || "k"}${pick(["", "x", "_", "é"])}:`,
        );
        break;
      case 4: // shift indentation
        lines[at] = (rand() < 0.5 ? " " : "\t") + line;
        break;
      case 5: // control and unicode characters
        lines[at] = line.slice(0, Math.floor(rand() * line.length)) +
          pick(["\u0007", "\u001b", "\u202e", "\ufeff", "\u2028", "\r", "💥"]) +
          line.slice(Math.floor(rand() * line.length));
        break;
      case 6: // truncate the file
        lines = lines.slice(0, at);
        break;
      case 7: // deep nesting
        lines[at] = `${line.split(":")[0] ?? "x"}: ${"[".repeat(200 + Math.floor(rand() * 2000))}`;
        break;
      case 8: // an alias bomb
        lines.push(
          "a: &a [x, x, x, x, x, x, x, x, x, x]",
          "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
          "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
          "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
        );
        break;
      case 9: // binary junk
        lines.splice(
          at,
          0,
          Array.from(
            { length: 20 + Math.floor(rand() * 200) },
            () => String.fromCharCode(1 + Math.floor(rand() * 254)),
          ).join(""),
        );
        break;
      case 10: // duplicate a line (duplicate keys, duplicate ids)
        lines.splice(at, 0, line);
        break;
      default: // a huge number or string where a port or duration goes
        lines[at] = line.replace(
          /\d+/,
          pick(["1".repeat(400), "-99999", "NaN", "Infinity", "0x1F"]),
        );
    }
  }
  return lines.join("\n");
}

Deno.test(`parsePipeline() handles ${COUNT} mutated files: located ConfigErrors only, under 2 s each`, () => {
  let valid = 0;
  let slowest = 0;
  for (let index = 0; index < COUNT; index++) {
    const text = mutate(index);
    const started = performance.now();
    try {
      parsePipeline(text, { file: `mutant-${index}.yaml`, dir: ROOT, env: {} });
      valid++;
    } catch (error) {
      if (!(error instanceof ConfigError)) {
        throw new Error(
          `mutant ${index} threw ${
            error instanceof Error ? error.stack : String(error)
          }\n--- file ---\n${text.slice(0, 2000)}`,
        );
      }
      assert(error.issues.length > 0, `mutant ${index}: a ConfigError without issues`);
      for (const issue of error.issues) {
        assertEquals(issue.file, `mutant-${index}.yaml`);
        assert(
          issue.line >= 1 || /bytes|NUL/.test(issue.message),
          `mutant ${index}: unlocated issue "${issue.message}"`,
        );
        assert(
          issue.message.length > 0 && issue.message.length < 2_000,
          `mutant ${index}: message of ${issue.message.length} chars`,
        );
      }
    }
    const elapsed = performance.now() - started;
    slowest = Math.max(slowest, elapsed);
    assert(elapsed < 2_000, `mutant ${index} took ${elapsed.toFixed(0)} ms`);
  }
  console.log(
    `${COUNT} mutants: ${valid} still valid, ${COUNT - valid} rejected, slowest ${
      slowest.toFixed(0)
    } ms`,
  );
});

Deno.test("flowctl validate exits 0 or 2, one located line per problem, for mutated files and binary junk", async () => {
  await using dir = await tempDir("flowctl-mutants-");
  const junk = new Uint8Array(4096).map((_, i) => (i * 7919) % 256);
  await Deno.writeFile(`${dir.path}/junk.yaml`, junk);
  const files = [`${dir.path}/junk.yaml`];
  for (let index = 0; index < 12; index++) {
    files.push(await writeTemp(`mutant-${index}.yaml`, mutate(index * 97), dir.path));
  }
  for (const file of files) {
    const result = await runFlowctl(["validate", file]);
    assert(
      result.code === ExitCode.ok || result.code === ExitCode.usage,
      `${file}: exit ${result.code}: ${result.stderr}`,
    );
    assertEquals(
      result.stderr.includes("    at "),
      false,
      `${file}: a stack trace:\n${result.stderr}`,
    );
    if (result.code === ExitCode.usage) {
      for (
        const line of result.stderr.trim().split("\n").filter((l) => !l.startsWith("warning:"))
      ) {
        assert(line.startsWith(file), `${file}: unlocated line "${line}"`);
      }
    }
  }
});
