/** Container names are looked up exactly: a "." in a component id is no wildcard (issue 13). */
import { ExitCode } from "../src/cli/exit_code.ts";
import { DockerClient } from "../src/docker/docker_client.ts";
import { assertEquals } from "./assert.ts";
import { buildTestImage, leftovers, SKIP_DOCKER, TEST_IMAGE } from "./_docker.ts";
import { containerComponent, FlowctlProcess, testPipeline, uniqueName } from "./_helpers.ts";

if (!SKIP_DOCKER) await buildTestImage();

Deno.test({
  name:
    "container mode: a foreign container whose name differs only where the id has a '.' is not a conflict",
  ignore: SKIP_DOCKER,
  async fn() {
    await using p = await testPipeline({
      name: uniqueName("names"),
      driver: "container",
      sources: [containerComponent("a.b", TEST_IMAGE)],
    });
    using docker = await DockerClient.connect();
    // "." matches any character in the engine's name filter: "a.b" would find "aXb".
    const lookalike = await docker.createContainer(`${p.name}-aXb`, { Image: TEST_IMAGE });
    try {
      await using flowctl = new FlowctlProcess(p.args);
      await flowctl.waitForOutput("Pipeline started successfully");
      flowctl.kill("SIGINT");
      const result = await flowctl.result();
      assertEquals(result.code, ExitCode.ok, result.stderr);
      assertEquals((await docker.inspectContainer(lookalike))?.State.Running, false);
    } finally {
      await docker.removeContainer(lookalike);
    }
    assertEquals(await leftovers(p.name), { containers: [], networks: [] });
  },
});
