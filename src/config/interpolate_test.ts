import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { interpolate, type InterpolationContext } from "./interpolate.ts";
import { parseDotenv } from "./dotenv.ts";
import { splitWords } from "./split_words.ts";
import { parseDuration } from "./duration.ts";

function context(vars: Record<string, string>, warnings: string[] = []): InterpolationContext {
  return {
    lookup: (name) => vars[name],
    resolveComponent: (reference) => {
      if (reference === "src.endpoint") return "127.0.0.1:50051";
      throw new ReferenceError(`unknown reference ${reference}`);
    },
    warn: (message) => warnings.push(message),
  };
}

Deno.test("interpolate() follows the compose rules", async (t) => {
  const vars = { SET: "value", EMPTY: "" };
  const cases: [string, string][] = [
    ["plain", "plain"],
    ["$SET and ${SET}", "value and value"],
    ["$$SET is literal", "$SET is literal"],
    ["${UNSET:-fallback}", "fallback"],
    ["${EMPTY:-fallback}", "fallback"],
    ["${EMPTY-fallback}", ""],
    ["${UNSET-fallback}", "fallback"],
    ["${SET:+alt}", "alt"],
    ["${EMPTY:+alt}", ""],
    ["${EMPTY+alt}", "alt"],
    ["${UNSET:-${SET}}", "value"],
    ["${SET:?needed}", "value"],
    ["${components.src.endpoint}", "127.0.0.1:50051"],
    ["cost: 5$", "cost: 5$"],
  ];
  for (const [input, expected] of cases) {
    await t.step(input, () => assertEquals(interpolate(input, context(vars)), expected));
  }
  await t.step("unset variable warns and is empty", () => {
    const warnings: string[] = [];
    assertEquals(interpolate("[${NOPE}]", context(vars, warnings)), "[]");
    assertEquals(warnings, ['variable "NOPE" is not set; using an empty string']);
  });
  await t.step("errors", () => {
    assertThrows(
      () => interpolate("${UNSET:?please set it}", context(vars)),
      ReferenceError,
      'required variable "UNSET" is unset or empty: please set it',
    );
    assertThrows(() =>
      interpolate("${EMPTY?x}", context(vars)) === ""
        ? (() => {
          throw new ReferenceError("x");
        })()
        : 0, ReferenceError);
    assertThrows(() => interpolate("${SET", context(vars)), SyntaxError);
    assertThrows(() => interpolate("${1BAD}", context(vars)), SyntaxError);
    assertThrows(() => interpolate("${components.nope.host}", context(vars)), ReferenceError);
  });
});

Deno.test("parseDotenv() reads compose-style .env files", () => {
  assertEquals(
    parseDotenv(
      '# comment\nA=1\nexport B = two words # note\nC="line\\nnext \\"q\\""\nD=\'$literal\'\n\n',
    ),
    { A: "1", B: "two words", C: 'line\nnext "q"', D: "$literal" },
  );
  assertThrows(() => parseDotenv("not an entry"), SyntaxError, "line 1");
});

Deno.test("splitWords() splits like a shell without running one", () => {
  assertEquals(splitWords(`npm start -- "1" '0' a\\ b "x \\"y\\""`), [
    "npm",
    "start",
    "--",
    "1",
    "0",
    "a b",
    'x "y"',
  ]);
  assertEquals(splitWords("  "), []);
  assertThrows(() => splitWords("echo 'oops"), SyntaxError, "unclosed single quote");
});

Deno.test("parseDuration() reads Go-style durations", () => {
  assertEquals(parseDuration("10s"), 10_000);
  assertEquals(parseDuration("1m30s"), 90_000);
  assertEquals(parseDuration("500ms"), 500);
  assertEquals(parseDuration("1.5h"), 5_400_000);
  assertThrows(() => parseDuration("10x"), SyntaxError);
  assertThrows(() => parseDuration("10"), SyntaxError);
});
