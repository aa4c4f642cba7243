/** The container rows of the fault matrix: every way out leaves no container or network. */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import {
  buildTestImage,
  containerPipeline,
  imageComponent,
  leftovers,
  SKIP_DOCKER,
} from "./_docker.ts";
import { FlowctlProcess, runFlowctl } from "./_helpers.ts";

if (!SKIP_DOCKER) await buildTestImage();

const pipeline = (body: string) => containerPipeline("fm", body);

const THREE_LEVELS = "  sources:\n" + imageComponent("src", {}) +
  "  processors:\n" + imageComponent("proc", {}, "      inputs: [src]\n") +
  "  sinks:\n" + imageComponent("sink", {}, "      inputs: [proc]\n");

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  Deno.test({
    name: `container faults: ${signal} stops every level in reverse order and removes everything`,
    ignore: SKIP_DOCKER,
    async fn() {
      const p = await pipeline(THREE_LEVELS);
      const flowctl = new FlowctlProcess(p.args);
      await flowctl.waitForOutput("sink ready");
      flowctl.kill(signal);
      const result = await flowctl.result();
      assertEquals(result.code, 0, result.stderr);
      const stops = result.stdout.split("\n").filter((l) => l.startsWith("Stopping component:"));
      assertEquals(stops, [
        "Stopping component: sink",
        "Stopping component: proc",
        "Stopping component: src",
      ]);
      assertEquals(await leftovers(p.name), { containers: [], networks: [] });
    },
  });
}

Deno.test({
  name:
    "container faults: a container ignoring SIGTERM, and one whose child ignores it, are killed after the grace period",
  ignore: SKIP_DOCKER,
  async fn() {
    const p = await pipeline(
      "  sources:\n" + imageComponent("deaf", { IGNORE_TERM: 1 }, "      stop_grace_period: 1s\n") +
        imageComponent("parent", { STUBBORN_CHILD: 1 }, "      stop_grace_period: 1s\n"),
    );
    const flowctl = new FlowctlProcess(p.args);
    await flowctl.waitForOutput("deaf ready");
    await flowctl.waitForOutput("parent ready");
    const started = Date.now();
    flowctl.kill("SIGINT");
    const result = await flowctl.result();
    assertEquals(result.code, 0, result.stderr);
    assertStringIncludes(result.stdout, "deaf   | ignoring SIGTERM");
    assert(Date.now() - started < 10_000, "stopped within the grace period plus removal");
    assertEquals(await leftovers(p.name), { containers: [], networks: [] });
  },
});

for (const level of [0, 1, 2]) {
  Deno.test({
    name: `container faults: a startup failure at level ${level} leaves nothing`,
    ignore: SKIP_DOCKER,
    async fn() {
      const broken = (inputs: string) =>
        imageComponent(
          "broken",
          { EXIT_AFTER: 0, EXIT_CODE: 5 },
          `${inputs}      health: { tcp: { port: 8080 } }\n`,
        );
      const body = level === 0
        ? "  sources:\n" + imageComponent("src", {}) + broken("")
        : level === 1
        ? "  sources:\n" + imageComponent("src", {}) + "  processors:\n" +
          broken("      inputs: [src]\n")
        : "  sources:\n" + imageComponent("src", {}) + "  processors:\n" +
          imageComponent("proc", {}, "      inputs: [src]\n") + "  sinks:\n" +
          broken("      inputs: [proc]\n");
      const p = await pipeline(body);
      const result = await runFlowctl(p.args);
      assertEquals(result.code, 1, result.stdout + result.stderr);
      assertStringIncludes(
        result.stderr,
        'Pipeline failed: Component "broken" exited with code 5 during startup',
      );
      assertEquals(await leftovers(p.name), { containers: [], networks: [] });
    },
  });
}
