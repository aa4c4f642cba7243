import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { formatDuration, MAX_TIMER_MS, parseDuration } from "./duration.ts";

Deno.test("parseDuration() reads Go-style durations", () => {
  assertEquals(parseDuration("500ms"), 500);
  assertEquals(parseDuration("1m30s"), 90_000);
  assertEquals(parseDuration("1.5h"), 5_400_000);
  assertThrows(() => parseDuration("10x"), SyntaxError, 'invalid duration "10x"');
});

Deno.test("parseDuration() refuses what a timer cannot wait for", () => {
  assertEquals(parseDuration(`${MAX_TIMER_MS}ms`), MAX_TIMER_MS);
  assertThrows(() => parseDuration(`${MAX_TIMER_MS + 1}ms`), RangeError, "at most 596h31m23.647s");
  assertThrows(() => parseDuration("99999999999999h"), RangeError, "too long");
  assertThrows(() => parseDuration(`${"9".repeat(400)}h`), RangeError, "too long");
});

Deno.test("formatDuration() writes what parseDuration() reads back", () => {
  const cases: [number, string][] = [
    [0, "0ms"],
    [250, "250ms"],
    [1000, "1s"],
    [1500, "1.5s"],
    [60_000, "1m"],
    [90_000, "1m30s"],
    [3_600_000, "1h"],
    [3_605_000, "1h5s"],
    [86_400_000, "24h"],
  ];
  for (const [ms, text] of cases) {
    assertEquals(formatDuration(ms), text);
    assertEquals(parseDuration(text), ms);
  }
});
