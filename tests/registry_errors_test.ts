/**
 * What a user sees when a registry component cannot be had: an unknown reference, an index
 * without this machine's platform, a corrupted blob, a registry that wants credentials; and
 * credentials from ~/.docker/config.json doing their job.
 */
import { ExitCode } from "../src/cli/exit_code.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { processesWith, testPipeline } from "./_helpers.ts";
import { LocalRegistry, registryWorkspace, scriptLayer } from "./_registry.ts";

/** A pipeline of one sink from `type`, and a long-running command source marked by `marker`. */
const pipeline = (type: string, marker: string) =>
  testPipeline({
    name: "registry-errors",
    sources: [{ id: "ticker", command: ["sleep", marker] }],
    sinks: [{ id: "fetched", type, inputs: ["ticker"] }],
  });

/** Whether the source marked by `marker` is alive. */
const running = (marker: string) => processesWith(`sleep ${marker}`).length > 0;

const uniqueMarker = () => String(600_000 + Math.floor(Math.random() * 100_000));

Deno.test("run: an unknown registry component fails with exit 1 naming the component and the reference", async () => {
  await using registry = await LocalRegistry.start();
  await using ws = await registryWorkspace();
  const marker = uniqueMarker();
  await using p = await pipeline(`${registry.host}/flowctl-test/nothing@v9`, marker);
  const result = await ws.run(p);
  assertEquals(result.code, ExitCode.failure, result.stdout + result.stderr);
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
  const image = async (says: string) => [await scriptLayer(`echo ${says}`)];
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
  await using refused = await pipeline(`${registry.host}/flowctl-test/foreign@v1`, marker);
  const failed = await ws.run(refused);
  assertEquals(failed.code, ExitCode.failure, failed.stdout + failed.stderr);
  assertStringIncludes(
    failed.stderr,
    `component "fetched": image "${registry.host}/flowctl-test/foreign:v1": no linux/${arch} image (the index has linux/${foreign})`,
  );
  assert(!running(marker));

  await using chosen = await testPipeline({
    name: "registry-multi",
    sinks: [{ id: "fetched", type: `${registry.host}/flowctl-test/multi@v1` }],
  });
  const result = await ws.run(chosen);
  assertEquals(result.code, ExitCode.ok, result.stdout + result.stderr);
  assertStringIncludes(result.stdout, `fetched | built-for-${arch}`);
});

Deno.test("run: a corrupted blob is a digest mismatch naming the component, reference and digests", async () => {
  await using registry = await LocalRegistry.start();
  await using ws = await registryWorkspace();
  const blob = await scriptLayer("echo should not run");
  await registry.pushImage("flowctl-test/corrupt", [blob], { tag: "v1" });
  // Same length, one byte changed: the registry serves it as is.
  const path = registry.blobPath(blob.digest);
  const bytes = await Deno.readFile(path);
  const middle = Math.floor(bytes.length / 2);
  bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
  await Deno.writeFile(path, bytes);

  const marker = uniqueMarker();
  await using p = await pipeline(`${registry.host}/flowctl-test/corrupt@v1`, marker);
  const result = await ws.run(p);
  assertEquals(result.code, ExitCode.failure, result.stdout + result.stderr);
  assertMatch(
    result.stderr,
    new RegExp(
      `component "fetched": image "${registry.host}/flowctl-test/corrupt:v1": layer digest mismatch: expected "${blob.digest}" \\(${blob.bytes.length} bytes\\), got "sha256:[0-9a-f]{64}"`,
    ),
  );
  assert(!result.stdout.includes("should not run"));
  assert(!running(marker));
  // Nothing half-applied is kept: the next attempt pulls again and fails the same way.
  const again = await ws.run(p);
  assertEquals(again.code, ExitCode.failure);
  assertStringIncludes(again.stderr, "layer digest mismatch");
});

Deno.test("run: basic-auth credentials come from ~/.docker/config.json", async (t) => {
  const user = { name: "flowctl", password: "s3cret-pw" };
  await using registry = await LocalRegistry.start(user);
  await using ws = await registryWorkspace();
  await registry.pushScript("flowctl-test/private", 'echo "private component ran"', {
    tag: "v1",
    path: "app/component",
  });
  await using p = await testPipeline({
    name: "registry-auth",
    sinks: [{ id: "private", type: `${registry.host}/flowctl-test/private@v1` }],
  });

  await t.step("without credentials: a clear error", async () => {
    const result = await ws.run(p);
    assertEquals(result.code, ExitCode.failure, result.stdout + result.stderr);
    assertStringIncludes(
      result.stderr,
      `component "private": image "${registry.host}/flowctl-test/private:v1": registry "${registry.host}" needs a user name and password, and ~/.docker/config.json has none for it`,
    );
  });

  await t.step("with the wrong password: access denied", async () => {
    await writeDockerConfig(ws.dir, registry.host, `${user.name}:wrong`);
    const result = await ws.run(p);
    assertEquals(result.code, ExitCode.failure, result.stdout + result.stderr);
    assertStringIncludes(result.stderr, `access denied by registry "${registry.host}" (HTTP 401`);
  });

  await t.step("with them: the component runs", async () => {
    await writeDockerConfig(ws.dir, registry.host, `${user.name}:${user.password}`);
    const result = await ws.run(p);
    assertEquals(result.code, ExitCode.ok, result.stdout + result.stderr);
    assertStringIncludes(result.stdout, "private | private component ran");
  });

  await t.step("from a credential helper (credsStore), as docker login leaves them", async () => {
    // Cached by the last step: a new tag must be pulled, with the helper's credentials.
    await registry.pushScript("flowctl-test/private", 'echo "private v2 ran"', {
      tag: "v2",
      path: "app/component",
    });
    await using p2 = await testPipeline({
      name: "registry-auth-helper",
      sinks: [{ id: "private", type: `${registry.host}/flowctl-test/private@v2` }],
    });
    await Deno.writeTextFile(
      `${ws.dir}/.docker/config.json`,
      JSON.stringify({ credsStore: "flowtest", auths: { [registry.host]: {} } }),
    );
    await Deno.mkdir(`${ws.dir}/bin`, { recursive: true });
    const helper = `${ws.dir}/bin/docker-credential-flowtest`;
    await Deno.writeTextFile(
      helper,
      `#!/bin/sh\n[ "$1" = get ] && [ "$(cat)" = "${registry.host}" ] || exit 1\n` +
        `echo '{"Username":"${user.name}","Secret":"${user.password}"}'\n`,
    );
    await Deno.chmod(helper, 0o755);
    const path = `${ws.dir}/bin:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`;
    const result = await ws.flowctl(p2.args, { ...p2.env, PATH: path });
    assertEquals(result.code, ExitCode.ok, result.stdout + result.stderr);
    assertStringIncludes(result.stdout, "private | private v2 ran");
    // Without the helper on PATH: a warning that names it, then the registry's refusal.
    await using p3 = await testPipeline({
      name: "registry-auth-no-helper",
      sinks: [{ id: "private", type: `${registry.host}/flowctl-test/private@v2` }],
    });
    await Deno.remove(`${ws.dir}/cache`, { recursive: true });
    const missing = await ws.run(p3);
    assertEquals(missing.code, ExitCode.failure, missing.stdout + missing.stderr);
    assertMatch(
      missing.stderr,
      /Credential helper "?docker-credential-flowtest"? could not run: "?not found on PATH/,
    );
  });
});

async function writeDockerConfig(home: string, host: string, userPass: string): Promise<void> {
  await Deno.mkdir(`${home}/.docker`, { recursive: true });
  await Deno.writeTextFile(
    `${home}/.docker/config.json`,
    JSON.stringify({ auths: { [host]: { auth: btoa(userPass) } } }),
  );
}
