/** The container rows of the fault matrix: every way out leaves no container or network. */
import { ExitCode } from "../src/cli/exit_code.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { buildTestImage, leftovers, SKIP_DOCKER, TEST_IMAGE } from "./_docker.ts";
import {
  type ComponentExtra,
  containerComponent,
  FlowctlProcess,
  runFlowctl,
  testPipeline,
  type TestPipelineSpec,
  uniqueName,
} from "./_helpers.ts";

if (!SKIP_DOCKER) await buildTestImage();

/** A container-mode pipeline under a fresh name. */
const pipeline = (spec: Omit<TestPipelineSpec, "name" | "driver">) =>
  testPipeline({ name: uniqueName("fm"), driver: "container", ...spec });

/** A component of the test image (tests/fixtures/image/run.sh reads `env`). */
const image = (id: string, env: Record<string, string | number> = {}, extra: ComponentExtra = {}) =>
  containerComponent(id, TEST_IMAGE, env, extra);

const THREE_LEVELS = {
  sources: [image("src")],
  processors: [image("proc", {}, { inputs: ["src"] })],
  sinks: [image("sink", {}, { inputs: ["proc"] })],
};

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  Deno.test({
    name: `container faults: ${signal} stops every level in reverse order and removes everything`,
    ignore: SKIP_DOCKER,
    async fn() {
      await using p = await pipeline(THREE_LEVELS);
      await using flowctl = new FlowctlProcess(p.args);
      await flowctl.waitForOutput("sink ready");
      flowctl.kill(signal);
      const result = await flowctl.result();
      assertEquals(result.code, ExitCode.ok, result.stderr);
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
    await using p = await pipeline({
      sources: [
        image("deaf", { IGNORE_TERM: 1 }, { stop_grace_period: "1s" }),
        image("parent", { STUBBORN_CHILD: 1 }, { stop_grace_period: "1s" }),
      ],
    });
    await using flowctl = new FlowctlProcess(p.args);
    await flowctl.waitForOutput("deaf ready");
    await flowctl.waitForOutput("parent ready");
    const started = Date.now();
    flowctl.kill("SIGINT");
    const result = await flowctl.result();
    assertEquals(result.code, ExitCode.ok, result.stderr);
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
      const broken = (extra: ComponentExtra) =>
        image("broken", { EXIT_AFTER: 0, EXIT_CODE: 5 }, {
          ...extra,
          health: { tcp: { port: 8080 } },
        });
      await using p = await pipeline(
        level === 0
          ? { sources: [image("src"), broken({})] }
          : level === 1
          ? { sources: [image("src")], processors: [broken({ inputs: ["src"] })] }
          : {
            sources: [image("src")],
            processors: [image("proc", {}, { inputs: ["src"] })],
            sinks: [broken({ inputs: ["proc"] })],
          },
      );
      const result = await runFlowctl(p.args);
      assertEquals(result.code, ExitCode.failure, result.stdout + result.stderr);
      assertStringIncludes(
        result.stderr,
        'Pipeline failed: Component "broken" exited with code 5 during startup',
      );
      assertEquals(await leftovers(p.name), { containers: [], networks: [] });
    },
  });
}
