/**
 * Event types declared in registry components' metadata (`produces`/`consumes`) are checked once
 * the images are resolved: a warning, or with --strict a refusal (issue 11, item 11).
 */
import { ExitCode } from "../src/cli/exit_code.ts";
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { testPipeline } from "./_helpers.ts";
import { layer, LocalRegistry, registryWorkspace, shellScript } from "./_registry.ts";

async function pushTyped(
  registry: LocalRegistry,
  name: string,
  types: { produces?: string[]; consumes?: string[] },
): Promise<void> {
  await registry.pushImage(`flowctl-test/${name}`, [
    await layer([
      { path: "component", ...shellScript(`echo "${name} up"`) },
      { path: "metadata.json", text: JSON.stringify({ name, version: "1.0.0", ...types }) },
    ]),
  ], { tag: "v1" });
}

Deno.test("run: metadata event types that never meet warn, and --strict refuses the run", async () => {
  await using registry = await LocalRegistry.start();
  await using ws = await registryWorkspace();
  await pushTyped(registry, "ledgers", { produces: ["stellar.ledger"] });
  await pushTyped(registry, "transfers", { consumes: ["token.transfer"] });
  await using p = await testPipeline({
    name: "registry-types",
    sources: [{ id: "src", type: "ledgers@v1" }],
    sinks: [{ id: "sink", type: "transfers@v1", inputs: ["src"] }],
  });
  const env = { ...p.env, FLOWCTL_COMPONENT_REGISTRY: `${registry.host}/flowctl-test` };
  const warned = await ws.flowctl(p.args, env);
  assertEquals(warned.code, ExitCode.ok, warned.stdout + warned.stderr);
  assertStringIncludes(
    warned.stdout,
    'warning: component "sink": input "src" produces "stellar.ledger"',
  );
  assertStringIncludes(warned.stdout, "(types from component metadata)");

  const strict = await ws.flowctl([...p.args, "--strict"], env);
  assertEquals(strict.code, ExitCode.failure, strict.stdout + strict.stderr);
  assertStringIncludes(strict.stderr, "(types from component metadata)");
  assertEquals(strict.stdout.includes("Starting component"), false, "nothing started");
});
