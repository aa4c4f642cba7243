import { assertEquals } from "../../tests/assert.ts";
import { closestMatch, didYouMean } from "./_suggest.ts";

Deno.test("didYouMean() counts a swap of two adjacent letters as one typo", () => {
  assertEquals(didYouMean("scr", ["src", "sink"]), ' (did you mean "src"?)');
  assertEquals(closestMatch("inptus", ["inputs", "image"]), "inputs");
  assertEquals(closestMatch("comand", ["command", "env"]), "command");
  assertEquals(closestMatch("ab", ["ba"]), "ba");
  assertEquals(closestMatch("xyz", ["src"]), undefined);
});
