import { assertEquals } from "../../tests/assert.ts";
import { computeLevels } from "./dependency_graph.ts";

Deno.test("computeLevels() groups nodes by depth in file order", () => {
  const result = computeLevels([
    { id: "sink", inputs: ["proc-a", "proc-b"] },
    { id: "src-1", inputs: [] },
    { id: "proc-a", inputs: ["src-1"] },
    { id: "src-2", inputs: [] },
    { id: "proc-b", inputs: ["src-2", "proc-a"] },
  ]);
  assertEquals(result, {
    ok: true,
    levels: [["src-1", "src-2"], ["proc-a"], ["proc-b"], ["sink"]],
  });
});

Deno.test("computeLevels() reports the cycle it finds", () => {
  const result = computeLevels([
    { id: "a", inputs: [] },
    { id: "b", inputs: ["a", "d"] },
    { id: "c", inputs: ["b"] },
    { id: "d", inputs: ["c"] },
  ]);
  assertEquals(result, { ok: false, cycle: ["b", "d", "c", "b"] });
});
