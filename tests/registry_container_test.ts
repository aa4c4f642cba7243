/**
 * Container mode: a registry component is simply the image `<registry>/<name>:<version>`, pulled
 * by the engine (from a registry on loopback, which engines treat as insecure by default).
 */
import { ExitCode } from "../src/cli/exit_code.ts";
import { hostPlatform } from "../src/registry/manifest.ts";
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { imageRemovedAtEnd, leftovers, SKIP_DOCKER } from "./_docker.ts";
import { testPipeline, uniqueName } from "./_helpers.ts";
import { layer, LocalRegistry, registryWorkspace } from "./_registry.ts";

Deno.test({
  name: "container mode: a registry component runs as its image, config as environment",
  ignore: SKIP_DOCKER,
  async fn() {
    await using registry = await LocalRegistry.start();
    await using ws = await registryWorkspace();
    const busybox = new Uint8Array(await Deno.readFile("/bin/busybox"));
    await registry.pushImage(
      "flowctl-test/ctr",
      [await layer([{ path: "bin/busybox", bytes: busybox, mode: 0o755 }])],
      {
        tag: "v1",
        architecture: hostPlatform().architecture,
        runConfig: {
          Entrypoint: ["/bin/busybox", "sh", "-c", 'echo "in a container: $NETWORK $COMPONENT_ID"'],
        },
      },
    );
    // The engine pulls the image from the registry; it goes when the test ends.
    await using _image = imageRemovedAtEnd(`${registry.host}/flowctl-test/ctr:v1`);
    await using p = await testPipeline({
      name: uniqueName("reg-ctr"),
      driver: "container",
      sinks: [{
        id: "ctr",
        type: `${registry.host}/flowctl-test/ctr@v1`,
        config: { network: "testnet" },
      }],
    });
    const result = await ws.run(p);
    assertEquals(result.code, ExitCode.ok, result.stdout + result.stderr);
    assertStringIncludes(result.stdout, "ctr | in a container: testnet ctr");
    assertEquals(await leftovers(p.name), { containers: [], networks: [] });
  },
});
