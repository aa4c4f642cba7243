/**
 * What a user sees when a registry component cannot be had: an unknown reference, an index
 * without this machine's platform, a corrupted blob, a registry that wants credentials; and
 * credentials from ~/.docker/config.json doing their job.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { runArgs, runFlowctl, writeTemp } from "./_helpers.ts";
import { layer, LocalRegistry, registryWorkspace } from "./_registry.ts";

const script = (body: string) => ({ text: `#!/bin/sh\n${body}\n`, mode: 0o755 });

/** A pipeline of one sink from `type`, and a long-running command source marked by `marker`. */
function pipeline(type: string, marker: string): string {
  return `apiVersion: flowctl/v1
kind: Pipeline
metadata: { name: registry-errors }
spec:
  sources:
    - id: ticker
      command: [sleep, "${marker}"]
  sinks:
    - id: fetched
      type: ${type}
      inputs: [ticker]
`;
}

/** Whether a process whose argv holds `marker` is alive. */
function running(marker: string): boolean {
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const argv = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).split("\0");
      if (argv.includes(marker)) return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

const uniqueMarker = () => String(600_000 + Math.floor(Math.random() * 100_000));

Deno.test("run: an unknown registry component fails with exit 1 naming the component and the reference", async () => {
  await using registry = await LocalRegistry.start();
  await using ws = await registryWorkspace();
  const marker = uniqueMarker();
  const file = await writeTemp(
    "p.yaml",
    pipeline(`${registry.host}/flowctl-test/nothing@v9`, marker),
    ws.dir,
  );
  const result = await runFlowctl(runArgs(file, `${ws.dir}/logs`), { env: ws.env });
  assertEquals(result.code, 1, result.stdout + result.stderr);
  assertStringIncludes(
    result.stderr,
    `component "fetched": image "${registry.host}/flowctl-test/nothing:v9": not found in the registry`,
  );
  assert(!running(marker), "the source must not be left running");
  assert(!result.stdout.includes("Starting component: ticker"), result.stdout);
});

Deno.test("run: an index without this platform is refused; a Docker manifest list with it yields its image", async () => {
  await using registry = await LocalRegistry.start();
  await using ws = await registryWorkspace();
  const arch = ({ x86_64: "amd64", aarch64: "arm64" } as Record<string, string>)[Deno.build.arch];
  const foreign = arch === "arm64" ? "amd64" : "arm64";
  const image = async (
    says: string,
  ) => [await layer([{ path: "component", ...script(`echo ${says}`) }])];
  // An OCI index with only a foreign image, and a Docker manifest list (of Docker schema-2
  // manifests) with both.
  await registry.pushIndex("flowctl-test/foreign", { [foreign]: await image("foreign") }, {
    tag: "v1",
  });
  await registry.pushIndex("flowctl-test/multi", {
    [foreign]: await image(`built-for-${foreign}`),
    [arch ?? "amd64"]: await image(`built-for-${arch}`),
  }, { tag: "v1", format: "docker" });

  const marker = uniqueMarker();
  const refused = await writeTemp(
    "refused.yaml",
    pipeline(`${registry.host}/flowctl-test/foreign@v1`, marker),
    ws.dir,
  );
  const failed = await runFlowctl(runArgs(refused, `${ws.dir}/logs`), { env: ws.env });
  assertEquals(failed.code, 1, failed.stdout + failed.stderr);
  assertStringIncludes(
    failed.stderr,
    `component "fetched": image "${registry.host}/flowctl-test/foreign:v1": no linux/${arch} image (the index has linux/${foreign})`,
  );
  assert(!running(marker));

  const chosen = await writeTemp(
    "chosen.yaml",
    `apiVersion: flowctl/v1
kind: Pipeline
metadata: { name: registry-multi }
spec:
  sinks:
    - id: fetched
      type: ${registry.host}/flowctl-test/multi@v1
`,
    ws.dir,
  );
  const result = await runFlowctl(runArgs(chosen, `${ws.dir}/logs`), { env: ws.env });
  assertEquals(result.code, 0, result.stdout + result.stderr);
  assertStringIncludes(result.stdout, `fetched | built-for-${arch}`);
});

Deno.test("run: a corrupted blob is a digest mismatch naming the component, reference and digests", async () => {
  await using registry = await LocalRegistry.start();
  await using ws = await registryWorkspace();
  const blob = await layer([{ path: "component", ...script("echo should not run") }]);
  await registry.pushImage("flowctl-test/corrupt", [blob], { tag: "v1" });
  // Same length, one byte changed: the registry serves it as is.
  const path = registry.blobPath(blob.digest);
  const bytes = await Deno.readFile(path);
  const middle = Math.floor(bytes.length / 2);
  bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
  await Deno.writeFile(path, bytes);

  const marker = uniqueMarker();
  const file = await writeTemp(
    "p.yaml",
    pipeline(`${registry.host}/flowctl-test/corrupt@v1`, marker),
    ws.dir,
  );
  const result = await runFlowctl(runArgs(file, `${ws.dir}/logs`), { env: ws.env });
  assertEquals(result.code, 1, result.stdout + result.stderr);
  assertMatch(
    result.stderr,
    new RegExp(
      `component "fetched": image "${registry.host}/flowctl-test/corrupt:v1": layer digest mismatch: expected "${blob.digest}" \\(${blob.bytes.length} bytes\\), got "sha256:[0-9a-f]{64}"`,
    ),
  );
  assert(!result.stdout.includes("should not run"));
  assert(!running(marker));
  // Nothing half-applied is kept: the next attempt pulls again and fails the same way.
  const again = await runFlowctl(runArgs(file, `${ws.dir}/logs`), { env: ws.env });
  assertEquals(again.code, 1);
  assertStringIncludes(again.stderr, "layer digest mismatch");
});

Deno.test("run: basic-auth credentials come from ~/.docker/config.json", async (t) => {
  const user = { name: "flowctl", password: "s3cret-pw" };
  await using registry = await LocalRegistry.start(user);
  await using ws = await registryWorkspace();
  await registry.pushImage("flowctl-test/private", [
    await layer([{ path: "app/component", ...script('echo "private component ran"') }]),
  ], { tag: "v1" });
  const file = await writeTemp(
    "p.yaml",
    `apiVersion: flowctl/v1
kind: Pipeline
metadata: { name: registry-auth }
spec:
  sinks:
    - id: private
      type: ${registry.host}/flowctl-test/private@v1
`,
    ws.dir,
  );

  await t.step("without credentials: a clear error", async () => {
    const result = await runFlowctl(runArgs(file, `${ws.dir}/logs`), { env: ws.env });
    assertEquals(result.code, 1, result.stdout + result.stderr);
    assertStringIncludes(
      result.stderr,
      `component "private": image "${registry.host}/flowctl-test/private:v1": registry "${registry.host}" needs a user name and password, and ~/.docker/config.json has none for it`,
    );
  });

  await t.step("with the wrong password: access denied", async () => {
    await writeDockerConfig(ws.dir, registry.host, `${user.name}:wrong`);
    const result = await runFlowctl(runArgs(file, `${ws.dir}/logs`), { env: ws.env });
    assertEquals(result.code, 1, result.stdout + result.stderr);
    assertStringIncludes(result.stderr, `access denied by registry "${registry.host}" (HTTP 401`);
  });

  await t.step("with them: the component runs", async () => {
    await writeDockerConfig(ws.dir, registry.host, `${user.name}:${user.password}`);
    const result = await runFlowctl(runArgs(file, `${ws.dir}/logs`), { env: ws.env });
    assertEquals(result.code, 0, result.stdout + result.stderr);
    assertStringIncludes(result.stdout, "private | private component ran");
  });
});

async function writeDockerConfig(home: string, host: string, userPass: string): Promise<void> {
  await Deno.mkdir(`${home}/.docker`, { recursive: true });
  await Deno.writeTextFile(
    `${home}/.docker/config.json`,
    JSON.stringify({ auths: { [host]: { auth: btoa(userPass) } } }),
  );
}
