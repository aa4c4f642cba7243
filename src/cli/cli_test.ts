import { fileURLToPath } from "node:url";
import { assertEquals, assertStringIncludes } from "../../tests/assert.ts";

const FIXTURE = fileURLToPath(
  new URL("../../tests/fixtures/cleanup_failure_cli.ts", import.meta.url),
);

Deno.test("runCli() reports a cleanup failure together with the failure that caused the cleanup", async () => {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", FIXTURE],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stderr);
  assertEquals(code, 1, text);
  const lines = text.trim().split("\n");
  assertStringIncludes(lines[0] ?? "", 'Cannot start pipeline: component "src": image "x:1"');
  assertStringIncludes(text, "cleaning up afterwards failed too");
  assertStringIncludes(text, 'removing network "n1" failed: engine gone');
});
