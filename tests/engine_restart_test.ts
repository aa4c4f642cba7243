/** The Docker engine restarting under a running pipeline (a row of the fault matrix). */
import { assertEquals, assertStringIncludes } from "./assert.ts";
import {
  buildTestImage,
  containerPipeline,
  imageComponent,
  leftovers,
  restartEngine,
  SKIP_DOCKER,
} from "./_docker.ts";
import { FlowctlProcess, freePort, waitFor } from "./_helpers.ts";

Deno.test({
  name:
    "container mode: when the engine restarts mid-run, components are restarted per policy and nothing is left",
  ignore: SKIP_DOCKER,
  async fn() {
    await buildTestImage();
    const port = freePort();
    const p = await containerPipeline(
      "engine",
      "  sources:\n" +
        imageComponent(
          "src",
          { HEALTH_PORT: 8080 },
          `      ports: [{ containerPort: 8080, hostPort: ${port} }]\n      health: { http: { path: /health, port: 8080 } }\n      restart: on-failure\n`,
        ) +
        "  sinks:\n" +
        imageComponent("sink", {}, "      inputs: [src]\n      restart: on-failure\n"),
    );
    const flowctl = new FlowctlProcess(p.args);
    try {
      await flowctl.waitForOutput("sink ready");
      await restartEngine();
      const count = (text: string) => flowctl.stdout.split(text).length - 1;
      await waitFor(
        () => count("Component src health check passed") === 2,
        "src healthy again after the restart",
        90_000,
      );
      await waitFor(() => count("sink | sink ready") === 2, "the sink running again", 90_000);
    } finally {
      flowctl.kill("SIGINT");
      await flowctl.result();
    }
    const result = await flowctl.result();
    assertEquals(result.code, 0, result.stdout + result.stderr);
    assertStringIncludes(result.stdout, "Restarting component src in 1s (restart 1)");
    // The restarted container's log stream starts at the restart: no line is printed twice.
    assertEquals(result.stdout.split("sink | sink ready").length - 1, 2, result.stdout);
    assertStringIncludes(result.stdout, "Pipeline stopped successfully");
    assertEquals(await leftovers(p.name), { containers: [], networks: [] });
  },
});
