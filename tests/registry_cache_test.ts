/**
 * flowctl's image cache: a second run needs no network (the registry is stopped), and
 * `flowctl pull` fills the cache ahead of time, one line per layer when not on a terminal.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { runArgs, runFlowctl, writeTemp } from "./_helpers.ts";
import { layer, LocalRegistry, registryWorkspace } from "./_registry.ts";

const script = (body: string) => ({ text: `#!/bin/sh\n${body}\n`, mode: 0o755 });

function pipeline(host: string): string {
  return `apiVersion: flowctl/v1
kind: Pipeline
metadata: { name: registry-cache }
spec:
  sources:
    - id: counter
      type: ${host}/flowctl-test/counter@v1
  sinks:
    - id: tool
      image: ${host}/flowctl-test/tools:v1
      inputs: [counter]
`;
}

async function pushImages(registry: LocalRegistry): Promise<void> {
  await registry.pushImage("flowctl-test/counter", [
    await layer([{ path: "component", ...script('echo "counter ran"') }]),
  ], { tag: "v1" });
  await registry.pushImage("flowctl-test/tools", [
    await layer([{ path: "usr/bin/tool", ...script('echo "tool ran"') }]),
    await layer([{ path: "usr/share/doc/tool.txt", text: "docs" }]),
  ], { tag: "v1" });
}

Deno.test("run: the second run works from the cache with the registry stopped", async () => {
  await using ws = await registryWorkspace();
  const registry = await LocalRegistry.start();
  let file: string;
  try {
    await pushImages(registry);
    file = await writeTemp("p.yaml", pipeline(registry.host), ws.dir);
    const first = await runFlowctl(runArgs(file, `${ws.dir}/logs`), { env: ws.env });
    assertEquals(first.code, 0, first.stdout + first.stderr);
    assertStringIncludes(first.stdout, `Pulled image "${registry.host}/flowctl-test/counter:v1"`);
    assertStringIncludes(first.stdout, `Pulled image "${registry.host}/flowctl-test/tools:v1"`);
  } finally {
    await registry[Symbol.asyncDispose]();
  }
  // Nothing answers on the registry's port now.
  await assertUnreachable(registry.host);
  const second = await runFlowctl(runArgs(file, `${ws.dir}/logs`), { env: ws.env });
  assertEquals(second.code, 0, second.stdout + second.stderr);
  assertStringIncludes(second.stdout, "counter | counter ran");
  assertStringIncludes(second.stdout, "tool    | tool ran");
  assert(!second.stdout.includes("Pulled image"), second.stdout);
});

Deno.test("pull: caches every registry component and image of a file, one line per layer", async () => {
  await using ws = await registryWorkspace();
  const registry = await LocalRegistry.start();
  let file: string;
  try {
    await pushImages(registry);
    file = await writeTemp("p.yaml", pipeline(registry.host), ws.dir);
    const pulled = await runFlowctl(["pull", file], { env: ws.env });
    assertEquals(pulled.code, 0, pulled.stdout + pulled.stderr);
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
  } finally {
    await registry[Symbol.asyncDispose]();
  }
  const run = await runFlowctl(runArgs(file, `${ws.dir}/logs`), { env: ws.env });
  assertEquals(run.code, 0, run.stdout + run.stderr);
  assertStringIncludes(run.stdout, "tool    | tool ran");
  assert(!run.stdout.includes("Pulled image"), run.stdout);

  // With the registry gone, pull itself fails with one clear line.
  const failed = await runFlowctl(["pull", file], { env: ws.env });
  assertEquals(failed.code, 1, failed.stdout + failed.stderr);
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
  const push = async (says: string) =>
    await registry.pushImage("flowctl-test/moving", [
      await layer([{ path: "component", ...script(`echo "${says}"`) }]),
    ], { tag: "v1" });
  const file = (policy: string) =>
    writeTemp(
      `${policy}.yaml`,
      `apiVersion: flowctl/v1
kind: Pipeline
metadata: { name: registry-moving }
spec:
  sinks:
    - id: moving
      type: ${registry.host}/flowctl-test/moving@v1
      pull_policy: ${policy}
`,
      ws.dir,
    );
  const run = async (policy: string) => {
    const result = await runFlowctl(runArgs(await file(policy), `${ws.dir}/logs`), {
      env: ws.env,
    });
    return { ...result, said: /moving \| (.*)/.exec(result.stdout)?.[1] };
  };

  const never = await run("never");
  assertEquals(never.code, 1, never.stdout + never.stderr);
  assertStringIncludes(
    never.stderr,
    `component "moving": image "${registry.host}/flowctl-test/moving:v1" is not in flowctl's cache and pull_policy is "never" (run "flowctl pull")`,
  );

  await push("first");
  assertEquals((await run("missing")).said, "first");
  await push("second");
  assertEquals((await run("missing")).said, "first", "the cache answers for the tag");
  assertEquals((await run("never")).said, "first");
  assertEquals((await run("always")).said, "second", "always asks the registry again");
  await push("third");
  const pulled = await runFlowctl(["pull", await file("missing")], { env: ws.env });
  assertEquals(pulled.code, 0, pulled.stderr);
  assertEquals((await run("missing")).said, "third", "flowctl pull follows the tag");
});
