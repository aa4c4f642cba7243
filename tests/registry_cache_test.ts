/**
 * flowctl's image cache: a second run needs no network (the registry is stopped), and
 * `flowctl pull` fills the cache ahead of time, one line per layer when not on a terminal.
 */
import { ExitCode } from "../src/cli/exit_code.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { type TestPipeline, testPipeline } from "./_helpers.ts";
import { layer, LocalRegistry, registryWorkspace, scriptLayer } from "./_registry.ts";

/** A registry component source and an image sink, both from the registry at `host`. */
const pipeline = (host: string) =>
  testPipeline({
    name: "registry-cache",
    sources: [{ id: "counter", type: `${host}/flowctl-test/counter@v1` }],
    sinks: [{ id: "tool", image: `${host}/flowctl-test/tools:v1`, inputs: ["counter"] }],
  });

async function pushImages(registry: LocalRegistry): Promise<void> {
  await registry.pushScript("flowctl-test/counter", 'echo "counter ran"', { tag: "v1" });
  await registry.pushImage("flowctl-test/tools", [
    await scriptLayer('echo "tool ran"', "usr/bin/tool"),
    await layer([{ path: "usr/share/doc/tool.txt", text: "docs" }]),
  ], { tag: "v1" });
}

Deno.test("run: the second run works from the cache with the registry stopped", async () => {
  await using ws = await registryWorkspace();
  await using registry = await LocalRegistry.start();
  await pushImages(registry);
  await using p = await pipeline(registry.host);
  const first = await ws.run(p);
  assertEquals(first.code, ExitCode.ok, first.stdout + first.stderr);
  assertStringIncludes(first.stdout, `Pulled image "${registry.host}/flowctl-test/counter:v1"`);
  assertStringIncludes(first.stdout, `Pulled image "${registry.host}/flowctl-test/tools:v1"`);
  await registry.stop();
  // Nothing answers on the registry's port now.
  await assertUnreachable(registry.host);
  const second = await ws.run(p);
  assertEquals(second.code, ExitCode.ok, second.stdout + second.stderr);
  assertStringIncludes(second.stdout, "counter | counter ran");
  assertStringIncludes(second.stdout, "tool    | tool ran");
  assert(!second.stdout.includes("Pulled image"), second.stdout);
});

Deno.test("pull: caches every registry component and image of a file, one line per layer", async () => {
  await using ws = await registryWorkspace();
  await using registry = await LocalRegistry.start();
  await pushImages(registry);
  await using p = await pipeline(registry.host);
  const pulled = await ws.flowctl(["pull", p.file]);
  assertEquals(pulled.code, ExitCode.ok, pulled.stdout + pulled.stderr);
  const lines = pulled.stdout.trim().split("\n");
  assertEquals(lines.length, 5, pulled.stdout);
  assertMatch(lines[0] ?? "", /^counter: layer 1\/1 sha256:[0-9a-f]{12} 0\.0 MB done$/);
  assertMatch(
    lines[1] ?? "",
    new RegExp(
      `^counter: ${registry.host}/flowctl-test/counter:v1 sha256:[0-9a-f]{64} \\(pulled\\)$`,
    ),
  );
  assertMatch(lines[2] ?? "", /^tool: layer 1\/2 /);
  assertMatch(lines[3] ?? "", /^tool: layer 2\/2 /);
  assertMatch(lines[4] ?? "", /tools:v1 sha256:[0-9a-f]{64} \(pulled\)$/);
  await registry.stop();
  const run = await ws.run(p);
  assertEquals(run.code, ExitCode.ok, run.stdout + run.stderr);
  assertStringIncludes(run.stdout, "tool    | tool ran");
  assert(!run.stdout.includes("Pulled image"), run.stdout);

  // With the registry gone, pull itself fails with one clear line.
  const failed = await ws.flowctl(["pull", p.file]);
  assertEquals(failed.code, ExitCode.failure, failed.stdout + failed.stderr);
  assertMatch(
    failed.stderr,
    new RegExp(`Cannot pull component "counter": image ".*counter:v1": cannot reach registry`),
  );
  assert(!failed.stderr.includes("    at "), failed.stderr);
});

async function assertUnreachable(host: string): Promise<void> {
  try {
    const response = await fetch(`http://${host}/v2/`);
    await response.body?.cancel();
  } catch {
    return;
  }
  throw new Error(`registry ${host} still answers`);
}

Deno.test("run: a moved tag is followed only by pull or pull_policy always; never needs the cache", async () => {
  await using registry = await LocalRegistry.start();
  await using ws = await registryWorkspace();
  const push = (says: string) =>
    registry.pushScript("flowctl-test/moving", `echo "${says}"`, { tag: "v1" });
  const moving = (policy: string) =>
    testPipeline({
      name: "registry-moving",
      sinks: [{
        id: "moving",
        type: `${registry.host}/flowctl-test/moving@v1`,
        pull_policy: policy,
      }],
    });
  await using policyNever = await moving("never");
  await using policyMissing = await moving("missing");
  await using policyAlways = await moving("always");
  const run = async (p: TestPipeline) => {
    const result = await ws.run(p);
    return { ...result, said: /moving \| (.*)/.exec(result.stdout)?.[1] };
  };

  const never = await run(policyNever);
  assertEquals(never.code, ExitCode.failure, never.stdout + never.stderr);
  assertStringIncludes(
    never.stderr,
    `component "moving": image "${registry.host}/flowctl-test/moving:v1" is not in flowctl's cache and pull_policy is "never" (run "flowctl pull")`,
  );

  await push("first");
  assertEquals((await run(policyMissing)).said, "first");
  await push("second");
  assertEquals((await run(policyMissing)).said, "first", "the cache answers for the tag");
  assertEquals((await run(policyNever)).said, "first");
  assertEquals((await run(policyAlways)).said, "second", "always asks the registry again");
  await push("third");
  const pulled = await ws.flowctl(["pull", policyMissing.file]);
  assertEquals(pulled.code, ExitCode.ok, pulled.stderr);
  assertEquals((await run(policyMissing)).said, "third", "flowctl pull follows the tag");
});
