/** The container rows of the fault matrix: every way out leaves no container or network. */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { buildTestImage, leftovers, SKIP_DOCKER, TEST_IMAGE } from "./_docker.ts";
import { FlowctlProcess, pipelineYaml, runFlowctl, writeTemp } from "./_helpers.ts";

if (!SKIP_DOCKER) await buildTestImage();

function component(id: string, env: Record<string, string | number>, extra = ""): string {
  const envText = Object.entries(env).map(([k, v]) => `${k}: "${v}"`).join(", ");
  return `    - id: ${id}\n      image: ${TEST_IMAGE}\n      pull_policy: never\n      env: { ${envText} }\n${extra}`;
}

async function pipeline(body: string) {
  const name = `fm-${crypto.randomUUID().slice(0, 8)}`;
  const dir = await Deno.makeTempDir({ prefix: "flowctl-faults-" });
  const file = await writeTemp(
    "pipeline.yaml",
    pipelineYaml(name, `  driver: container\n${body}`),
    dir,
  );
  return { name, args: ["run", file, "--control-plane-port", "0", "--log-dir", `${dir}/logs`] };
}

const THREE_LEVELS = "  sources:\n" + component("src", {}) +
  "  processors:\n" + component("proc", {}, "      inputs: [src]\n") +
  "  sinks:\n" + component("sink", {}, "      inputs: [proc]\n");

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
      "  sources:\n" + component("deaf", { IGNORE_TERM: 1 }, "      stop_grace_period: 1s\n") +
        component("parent", { STUBBORN_CHILD: 1 }, "      stop_grace_period: 1s\n"),
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
        component(
          "broken",
          { EXIT_AFTER: 0, EXIT_CODE: 5 },
          `${inputs}      health: { tcp: { port: 8080 } }\n`,
        );
      const body = level === 0
        ? "  sources:\n" + component("src", {}) + broken("")
        : level === 1
        ? "  sources:\n" + component("src", {}) + "  processors:\n" +
          broken("      inputs: [src]\n")
        : "  sources:\n" + component("src", {}) + "  processors:\n" +
          component("proc", {}, "      inputs: [src]\n") + "  sinks:\n" +
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
