import { assertEquals } from "../../tests/assert.ts";
import { backoffDelay, nextBackoffStep } from "./backoff.ts";

Deno.test("backoffDelay() doubles from 1 s up to 30 s", () => {
  assertEquals([0, 1, 2, 3, 4, 5, 6].map(backoffDelay), [
    1000,
    2000,
    4000,
    8000,
    16000,
    30000,
    30000,
  ]);
});

Deno.test("nextBackoffStep() resets after a stable minute", () => {
  assertEquals(nextBackoffStep(3, 5_000), 4);
  assertEquals(nextBackoffStep(3, 60_000), 0);
});
