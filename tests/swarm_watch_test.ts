/**
 * `flowctl run --watch` in swarm mode, on a single-node private swarm: an edit updates only the
 * changed component's service in place (`docker service update`), and an update whose task
 * cannot run is rolled back while the run goes on.
 */
import * as v from "valibot";
import { stringify } from "yaml";
import { ExitCode } from "../src/cli/exit_code.ts";
import { DockerClient } from "../src/docker/docker_client.ts";
import { LABEL_COMPONENT, LABEL_PIPELINE } from "../src/docker/labels.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { REQUIRE_DOCKER, TEST_IMAGE } from "./_docker.ts";
import {
  containerComponent,
  FlowctlProcess,
  runArgs,
  tempDir,
  uniqueName,
  waitFor,
} from "./_helpers.ts";
import { privateSwarmUnavailable, startSwarm } from "./_swarm.ts";

const UNAVAILABLE = privateSwarmUnavailable();

const ServicesSchema = v.array(v.looseObject({
  ID: v.string(),
  Version: v.looseObject({ Index: v.number() }),
  Spec: v.looseObject({
    Labels: v.record(v.string(), v.string()),
    TaskTemplate: v.looseObject({
      ContainerSpec: v.looseObject({ Image: v.string(), Env: v.array(v.string()) }),
    }),
  }),
}));

/** Each component's service of `pipeline`: its id, version and spec. */
async function servicesOf(docker: DockerClient, pipeline: string) {
  const filters = JSON.stringify({ label: [`${LABEL_PIPELINE}=${pipeline}`] });
  const services = await docker.json(ServicesSchema, "GET", "/services", { query: { filters } });
  return Object.fromEntries(services.map((s) => [s.Spec.Labels[LABEL_COMPONENT] ?? "", s]));
}

Deno.test({
  name:
    "run --watch in swarm mode updates only the changed service in place, and rolls back one that cannot run",
  ignore: UNAVAILABLE !== undefined && !REQUIRE_DOCKER,
  async fn() {
    await using swarm = await startSwarm();
    await using temp = await tempDir("flowctl-swatch-");
    const name = uniqueName("swatch");
    const file = `${temp.path}/pipeline.yaml`;
    /** `src` with MODE=`mode`; a `broken` one exits at once, before its health check passes. */
    const write = (mode: string, broken = false) =>
      Deno.writeTextFile(
        file,
        stringify({
          apiVersion: "flowctl/v1",
          kind: "Pipeline",
          metadata: { name },
          spec: {
            driver: "swarm",
            sources: [
              broken
                ? {
                  ...containerComponent("src", TEST_IMAGE, {
                    MODE: mode,
                    EXIT_AFTER: 0,
                    EXIT_CODE: 3,
                  }),
                  health: { http: { path: "/health", port: 8000 } },
                  restart: "no",
                }
                : containerComponent("src", TEST_IMAGE, { PRINT_ENV: "MODE", MODE: mode }),
              containerComponent("other", TEST_IMAGE, { PRINT_ENV: "COMPONENT_ID" }),
            ],
          },
        }),
      );
    await write("one");
    using docker = await DockerClient.connect(swarm.manager.engine.host);
    await using flowctl = new FlowctlProcess([...runArgs(file, `${temp.path}/logs`), "--watch"], {
      wrapper: swarm.manager.wrapper,
      env: {
        DOCKER_HOST: swarm.manager.engine.host,
        FLOWCTL_STATE_DIR: `${temp.path}/state`,
        FLOWCTL_SWARM_PROBE_IMAGE: TEST_IMAGE,
      },
    });
    await flowctl.waitForOutput("Pipeline started successfully", 60_000);
    await flowctl.waitForOutput("MODE=one", 20_000);
    const before = await servicesOf(docker, name);

    await write("two");
    await flowctl.waitForOutput("Pipeline reloaded", 60_000);
    await flowctl.waitForOutput("MODE=two", 20_000);
    const after = await servicesOf(docker, name);
    assertEquals(after.src?.ID, before.src?.ID, "src's service was updated, not re-created");
    assert(
      (after.src?.Version.Index ?? 0) > (before.src?.Version.Index ?? 0),
      "src's spec changed",
    );
    assert(after.src?.Spec.TaskTemplate.ContainerSpec.Env.includes("MODE=two"));
    assertEquals(after.other, before.other, "other's service is untouched");

    // The new task exits before it is healthy: the service goes back to the previous spec.
    await write("three", true);
    await flowctl.waitForOutput("rolled back to the previous definition", 60_000);
    const rolledBack = await servicesOf(docker, name);
    assert(rolledBack.src?.Spec.TaskTemplate.ContainerSpec.Env.includes("MODE=two"));
    await waitFor(
      () => flowctl.stdout.split("MODE=two").length > 2,
      "src running its previous spec again",
      30_000,
    );
    assertEquals(rolledBack.other, before.other, "other's service is still untouched");

    flowctl.kill("SIGINT");
    const result = await flowctl.result();
    assertEquals(result.code, ExitCode.ok, result.stderr);
    assertStringIncludes(result.stdout, "Pipeline stopped successfully");
    assertEquals(Object.keys(await servicesOf(docker, name)), [], "no service survives");
  },
});
