/**
 * The registry client against a hostile registry (tests/_hostile_registry.ts): every attack ends
 * in one RegistryError naming what the registry did, promptly, with nothing unverified unpacked
 * and nothing sent where it does not belong.
 */
import { ImageCache } from "../src/registry/image_cache.ts";
import { pullImage, type PullOptions } from "../src/registry/pull_image.ts";
import { RegistryError } from "../src/registry/registry_error.ts";
import {
  type Attack,
  BOMB_BYTES,
  ESCAPES,
  HostileRegistry,
  MANY_FILES,
} from "./_hostile_registry.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./assert.ts";
import { tempDir, testPipeline, waitFor } from "./_helpers.ts";
import { registryWorkspace } from "./_registry.ts";
import { ExitCode } from "../src/cli/exit_code.ts";

/** An image cache that notes what each fill left in its root before the cache removed it. */
class WatchingCache extends ImageCache {
  readonly leftInRoot: string[][] = [];
  override store(digest: string, fill: (root: string) => Promise<void>): Promise<string> {
    return super.store(digest, async (root) => {
      try {
        await fill(root);
      } finally {
        this.leftInRoot.push(walk(root));
      }
    });
  }
}

function walk(dir: string, prefix = ""): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    found.push(`${prefix}${entry.name}`);
    if (entry.isDirectory) found.push(...walk(`${dir}/${entry.name}`, `${prefix}${entry.name}/`));
  }
  return found;
}

/** Deadlines short enough for tests; an attack that is not stopped ends at 20 s instead. */
const TIMEOUTS = { answerMs: 500, idleMs: 500 };

Deno.test("pullImage() against a hostile registry", async (t) => {
  await using registry = await HostileRegistry.start();
  await using dir = await tempDir("flowctl-hostile-");
  let n = 0;
  const pull = (attack: Attack, options: PullOptions = {}) => {
    const cache = new WatchingCache(`${dir.path}/cache-${++n}`);
    const promise = pullImage(registry.reference(attack), {
      cache,
      timeouts: TIMEOUTS,
      signal: AbortSignal.timeout(20_000),
      ...options,
    });
    return { cache, promise };
  };
  const refused = async (attack: Attack, message: string, options: PullOptions = {}) => {
    const { cache, promise } = pull(attack, options);
    const error = await assertRejects(() => promise, RegistryError);
    assertStringIncludes(error.message, message);
    return { cache, error };
  };

  await t.step("a good image pulls (the server is a registry)", async () => {
    const { promise } = pull("good");
    const image = await promise;
    assertEquals(await Deno.readTextFile(`${image.root}/app/run`), "#!/bin/sh\necho ok\n");
  });

  await t.step("endless manifest, token and error bodies are cut at their limits (5)", async () => {
    await refused("endless-manifest", "larger than 4194304 bytes, the most flowctl reads");
    await refused("endless-token", "sent an answer larger than 65536 bytes");
    await refused("endless-error", "answered HTTP 500");
  });

  await t.step("realms of file:, data: and /dev/zero are refused (3)", async () => {
    for (const attack of ["realm-file", "realm-dev-zero", "realm-data"] as const) {
      await refused(attack, "is not an http or https URL; flowctl fetches nothing else");
    }
  });

  await t.step("a redirect to file: is refused", async () => {
    await refused("redirect-file", "a redirect of registry");
  });

  await t.step("credentials never go to another origin: its realm, a redirect (3)", async () => {
    const config = `${dir.path}/docker-config`;
    await Deno.mkdir(config);
    await Deno.writeTextFile(
      `${config}/config.json`,
      JSON.stringify({ auths: { [registry.host]: { auth: btoa("me:secret") } } }),
    );
    const before = Deno.env.get("DOCKER_CONFIG");
    Deno.env.set("DOCKER_CONFIG", config);
    try {
      await pull("realm-other-origin").promise;
    } finally {
      if (before === undefined) Deno.env.delete("DOCKER_CONFIG");
      else Deno.env.set("DOCKER_CONFIG", before);
    }
    const blob = registry.other.seen.find((line) => line.startsWith("/blob/")) ?? "";
    assertEquals(
      registry.other.seen,
      ["/token ", blob],
      "the other origin got no Authorization: neither the saved credentials nor the registry's token",
    );
    assert(blob.endsWith(" "), "the blob came through the redirect");
  });

  await t.step("a wrong digest is found before anything is unpacked (7)", async () => {
    const { cache } = await refused("wrong-digest", "layer digest mismatch");
    assertEquals(cache.leftInRoot, [[]], "nothing of the layer was written");
  });

  await t.step("a gzip bomb stops at the unpack limit (7)", async () => {
    await refused("gzip-bomb", `unpacks to more than ${BOMB_BYTES / 4} bytes`, {
      limits: { maxBytes: BOMB_BYTES / 4 },
    });
  });

  await t.step("deep paths: refused past the depth limit, linear below it (7)", async () => {
    await refused("deep-paths", "is more than 256 folders deep");
    // The old resolution, quadratic per entry, took about a minute here (tar: a few seconds);
    // the signal is a hang guard, far above what linear resolution needs even on a busy machine.
    const image = await pull("deep-paths", {
      limits: { maxDepth: 5000 },
      signal: AbortSignal.timeout(45_000),
    }).promise;
    assert((await Deno.stat(`${image.root}/d/d/d`)).isDirectory);
  });

  await t.step("Ctrl+C stops an unpack in the middle (7)", async () => {
    const controller = new AbortController();
    const { cache, promise } = pull("many-files", { signal: controller.signal });
    await waitFor(() => registry.blobsSent.has("many-files"), "the layer sent");
    controller.abort(new Error("interrupted"));
    const error = await assertRejects(() => promise);
    assertEquals((error as Error).message, "interrupted");
    const written = cache.leftInRoot[0] ?? [];
    assert(written.length < MANY_FILES, `stopped early (${written.length} files written)`);
  });

  await t.step("whiteouts cannot remove anything around the image root (10)", async () => {
    const { cache } = await refused("whiteout-escape", 'whiteout ".wh.." names no file');
    assertEquals(cache.leftInRoot.length, 1);
    assert((await Deno.stat(`${dir.path}/cache-${n}/tmp`)).isDirectory);
  });

  await t.step("a registry that never answers, or stops mid-body, times out (8)", async () => {
    await refused("stall", "no answer within 500 ms");
    await refused("stall-body", "sent nothing for 500 ms");
  });

  await t.step("escape sequences in a registry's text are shown escaped (9)", async () => {
    const { error } = await refused("escape-sequences", "\\x1b]0;pwned\\x07");
    const controls = [...error.message].filter((c) => c.charCodeAt(0) < 0x20 || c === "\x7f");
    assertEquals(controls, [], JSON.stringify(error.message));
    assert(ESCAPES.includes("\x1b"));
  });

  await t.step("a manifest of 20,000 layers is refused (14)", async () => {
    await refused("many-layers", "an image may have at most 512 layers");
  });
});

Deno.test("run: a hostile registry's error reaches the terminal as one escaped line, exit 1 (9)", async () => {
  await using registry = await HostileRegistry.start();
  await using ws = await registryWorkspace();
  await using p = await testPipeline({
    name: "hostile-cli",
    sources: [{ id: "fetched", type: `${registry.host}/hostile/escape-sequences@v1` }],
  });
  const result = await ws.run(p);
  assertEquals(result.code, ExitCode.failure, result.stdout + result.stderr);
  const controls = [...result.stderr].filter((c) => c.charCodeAt(0) < 0x20 && c !== "\n");
  assertEquals(controls, [], JSON.stringify(result.stderr));
  assertStringIncludes(result.stderr, "\\x1b]0;pwned\\x07\\x1b[31mred");
  assertEquals(result.stderr.includes("forged line\n"), false, "no line forged by the registry");
});

Deno.test("pullImage() stops on Ctrl+C while a layer downloads (7)", async () => {
  await using registry = await HostileRegistry.start();
  await using dir = await tempDir("flowctl-hostile-");
  const controller = new AbortController();
  const pulling = pullImage(registry.reference("stall-body"), {
    cache: new ImageCache(`${dir.path}/cache`),
    // Long deadlines: only the abort can end this pull soon.
    timeouts: { answerMs: 60_000, idleMs: 60_000 },
    signal: controller.signal,
  });
  await waitFor(
    () => registry.seen.some((line) => line.includes("/blobs/")),
    "the layer download to begin",
  );
  controller.abort(new Error("interrupted"));
  let settled = false;
  const outcome = pulling.then(() => "pulled", (error: Error) => error.message)
    .finally(() => settled = true);
  await waitFor(() => settled, "the pull to stop", 5_000);
  assertEquals(await outcome, "interrupted");
});
