/**
 * Container mode: a registry component is simply the image `<registry>/<name>:<version>`, pulled
 * by the engine (from a registry on loopback, which engines treat as insecure by default).
 */
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { hostPlatform } from "../src/registry/manifest.ts";
import { leftovers, SKIP_DOCKER } from "./_docker.ts";
import { runArgs, runFlowctl, writeTemp } from "./_helpers.ts";
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
    const image = `${registry.host}/flowctl-test/ctr:v1`;
    const name = `reg-ctr-${crypto.randomUUID().slice(0, 8)}`;
    const file = await writeTemp(
      "p.yaml",
      `apiVersion: flowctl/v1
kind: Pipeline
metadata: { name: ${name} }
spec:
  driver: container
  sinks:
    - id: ctr
      type: ${registry.host}/flowctl-test/ctr@v1
      config: { network: testnet }
`,
      ws.dir,
    );
    try {
      const result = await runFlowctl(runArgs(file, `${ws.dir}/logs`), { env: ws.env });
      assertEquals(result.code, 0, result.stdout + result.stderr);
      assertStringIncludes(result.stdout, "ctr | in a container: testnet ctr");
      assertEquals(await leftovers(name), { containers: [], networks: [] });
    } finally {
      await new Deno.Command("docker", {
        args: ["rmi", "-f", image],
        stdout: "null",
        stderr: "null",
      })
        .output();
    }
  },
});
