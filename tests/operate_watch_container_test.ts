/**
 * `flowctl run --watch` in container mode: an edit re-creates only the changed component's
 * container, on the running pipeline's network, and everything goes on Ctrl+C.
 */
import { stringify } from "yaml";
import { ExitCode } from "../src/cli/exit_code.ts";
import { DockerClient } from "../src/docker/docker_client.ts";
import { LABEL_COMPONENT, LABEL_PIPELINE } from "../src/docker/labels.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { buildTestImage, leftovers, SKIP_DOCKER, TEST_IMAGE } from "./_docker.ts";
import { containerComponent, FlowctlProcess, testPipeline, uniqueName } from "./_helpers.ts";

if (!SKIP_DOCKER) await buildTestImage();

/** The container id of each component of `pipeline` that is running. */
async function containersOf(docker: DockerClient, pipeline: string) {
  const ids: Record<string, string> = {};
  for (const container of await docker.listContainers(LABEL_PIPELINE, pipeline)) {
    const component = container.Labels?.[LABEL_COMPONENT];
    if (component && container.State === "running") ids[component] = container.Id;
  }
  return ids;
}

Deno.test({
  name: "run --watch in container mode re-creates only the changed component, on the same network",
  ignore: SKIP_DOCKER,
  async fn() {
    const name = uniqueName("watchc");
    const spec = (mode: string) => ({
      apiVersion: "flowctl/v1",
      kind: "Pipeline",
      metadata: { name },
      spec: {
        driver: "container",
        sources: [
          containerComponent("src", TEST_IMAGE, { PRINT_ENV: "MODE", MODE: mode }),
          containerComponent("other", TEST_IMAGE, { PRINT_ENV: "COMPONENT_ID" }),
        ],
      },
    });
    await using p = await testPipeline({ name, driver: "container", sources: [] });
    await Deno.writeTextFile(p.file, stringify(spec("one")));
    using docker = await DockerClient.connect();
    {
      await using flowctl = new FlowctlProcess([...p.args, "--watch"], { env: p.env });
      await flowctl.waitForOutput("Pipeline started successfully", 60_000);
      await flowctl.waitForOutput("MODE=one");
      const before = await containersOf(docker, name);

      await Deno.writeTextFile(p.file, stringify(spec("two")));
      await flowctl.waitForOutput("Pipeline reloaded", 30_000);
      await flowctl.waitForOutput("MODE=two", 30_000);
      const after = await containersOf(docker, name);
      assert(after.src !== undefined && after.src !== before.src, "src got a new container");
      assertEquals(after.other, before.other, "other kept its container");
      const network = (await docker.listNetworks(LABEL_PIPELINE, name)).length;
      assertEquals(network, 1, "the reload joined the run's network");

      flowctl.kill("SIGINT");
      const result = await flowctl.result();
      assertEquals(result.code, ExitCode.ok, result.stderr);
      assertStringIncludes(result.stdout, "Pipeline stopped successfully");
    }
    assertEquals(await leftovers(name), { containers: [], networks: [] });
  },
});
