import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { parseCpu, parseMemory } from "./quantity.ts";

Deno.test("parseCpu() reads Kubernetes CPU amounts as nano-CPUs", () => {
  assertEquals(parseCpu("500m"), 500_000_000);
  assertEquals(parseCpu("2000m"), 2_000_000_000);
  assertEquals(parseCpu("1"), 1_000_000_000);
  assertEquals(parseCpu(0.25), 250_000_000);
  assertThrows(() => parseCpu("1Gi"), RangeError, 'invalid CPU amount "1Gi"');
});

Deno.test("parseMemory() reads Kubernetes memory amounts as bytes", () => {
  assertEquals(parseMemory("512Mi"), 512 * 1024 * 1024);
  assertEquals(parseMemory("2Gi"), 2 * 1024 ** 3);
  assertEquals(parseMemory("1G"), 1e9);
  assertEquals(parseMemory("128k"), 128_000);
  assertEquals(parseMemory("1e3"), 1000);
  assertEquals(parseMemory(1048576), 1048576);
  assertThrows(() => parseMemory("lots"), RangeError, 'invalid memory amount "lots"');
});
