/**
 * Registry components (`type: name@version`) and binaries from images (`image` without
 * `command`) in process mode, pulled by flowctl from a real registry on loopback, no Docker.
 * The executables are `#!/bin/sh` scripts: their tar entries have mode 0755, which flowctl keeps
 * when it applies the layer, so the host's /bin/sh runs them.
 */
import { ExitCode } from "../src/cli/exit_code.ts";
import { assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { testPipeline } from "./_helpers.ts";
import { layer, LocalRegistry, registryWorkspace, shellScript } from "./_registry.ts";

Deno.test("run: registry components get their config as env through env_mapping and config_schema", async () => {
  await using registry = await LocalRegistry.start();
  await using ws = await registryWorkspace();
  await registry.pushImage("flowctl-test/reporter", [
    await layer([
      {
        path: "component",
        ...shellScript(
          'echo "NETWORK=$STELLAR_NETWORK START=$START_LEDGER_SEQ BATCH=$BATCH_SIZE ID=$COMPONENT_ID"',
        ),
      },
      {
        path: "metadata.json",
        text: JSON.stringify({
          name: "reporter",
          version: "1.0.0",
          type: "sink",
          consumes: ["ledger"],
          env_mapping: { network: "STELLAR_NETWORK" },
          config_schema: { start_ledger: { env: "START_LEDGER_SEQ", type: "integer" } },
        }),
      },
    ]),
  ], { tag: "v1" });
  await registry.pushScript("flowctl-test/source", 'echo "source up"; exec sleep 600', {
    tag: "v2",
    path: "bin/component",
  });
  await using p = await testPipeline({
    name: "registry-config",
    sources: [{ id: "source", type: `${registry.host}/flowctl-test/source@v2` }],
    sinks: [{
      id: "reporter",
      type: "reporter@v1",
      inputs: ["source"],
      config: { network: "testnet", start_ledger: 42, batchSize: 10 },
    }],
  });
  const result = await ws.flowctl(p.args, {
    ...p.env,
    FLOWCTL_COMPONENT_REGISTRY: `${registry.host}/flowctl-test`,
  });
  assertEquals(result.code, ExitCode.ok, result.stdout + result.stderr);
  assertStringIncludes(result.stdout, "source   | source up");
  assertStringIncludes(result.stdout, "reporter | NETWORK=testnet START=42 BATCH=10 ID=reporter");
  assertMatch(
    result.stdout,
    new RegExp(
      `Pulled image "${registry.host}/flowctl-test/reporter:v1" \\(sha256:[0-9a-f]{64}\\)`,
    ),
  );
  assertStringIncludes(result.stdout, "Pipeline completed successfully");
});

Deno.test("run: image + type in process mode runs /app/<type> of a two-layer image with whiteouts", async () => {
  await using registry = await LocalRegistry.start();
  await using ws = await registryWorkspace();
  const tool = (says: string) =>
    shellScript(
      `here=$(dirname "$0")
echo "${says}"
echo "extra: $(cat "$here/extra.txt")"
[ -e "$here/../etc/old.conf" ] && echo "old.conf: present" || echo "old.conf: removed"
echo "data: $(ls "$here/../data" | tr '\\n' ' ')"
echo "args: $*"`,
    );
  await registry.pushImage("flowctl-test/tools", [
    await layer([
      { path: "app", dir: true },
      { path: "app/ttp-processor", ...tool("layer one") },
      { path: "app/extra.txt", text: "from layer one" },
      { path: "etc/old.conf", text: "x" },
      { path: "data/a.txt", text: "a" },
      { path: "data/b.txt", text: "b" },
    ]),
    await layer([
      { path: "app/ttp-processor", ...tool("layer two") },
      { path: "etc/.wh.old.conf", text: "" },
      { path: "data/.wh..wh..opq", text: "" },
      { path: "data/c.txt", text: "c" },
    ]),
  ], { tag: "2.0" });
  await using p = await testPipeline({
    name: "image-binary",
    sinks: [{
      id: "processor",
      type: "ttp-processor",
      image: `${registry.host}/flowctl-test/tools:2.0`,
      args: ["--start", "5"],
    }],
  });
  const result = await ws.run(p);
  assertEquals(result.code, ExitCode.ok, result.stdout + result.stderr);
  for (
    const line of [
      "processor | layer two",
      "processor | extra: from layer one",
      "processor | old.conf: removed",
      "processor | data: c.txt",
      "processor | args: --start 5",
    ]
  ) assertStringIncludes(result.stdout, line);
});
