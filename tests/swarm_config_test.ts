/** Swarm keys in pipeline files: `driver: swarm`, `placement.constraints`, `endpoint_mode`. */
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { pipelineYaml, ROOT, runFlowctl, writeTemp } from "./_helpers.ts";

Deno.test("flowctl validate accepts the example as swarm services", async () => {
  const result = await runFlowctl([
    "validate",
    "--offline",
    `${ROOT}examples/ttp-pipeline.yaml`,
    "--orchestrator",
    "swarm",
  ]);
  assertEquals(result.code, 0, result.stderr);
  assertStringIncludes(result.stdout, "3 components in 3 levels (swarm)");
});

Deno.test("swarm keys are validated with their location: constraints, endpoint mode", async () => {
  const file = await writeTemp(
    "swarm.yaml",
    pipelineYaml(
      "swarmkeys",
      "  driver: swarm\n  sources:\n" +
        "    - id: a\n      image: busybox\n" +
        '      placement: { constraints: ["node.role==manager", "nonsense"], prefs: [] }\n' +
        "      endpoint_mode: ipvs\n",
    ),
  );
  const result = await runFlowctl(["validate", file]);
  assertEquals(result.code, 2, result.stdout);
  const lines = result.stderr.trim().split("\n");
  const expected = [
    'spec.sources[0].placement.constraints[1]: invalid constraint "nonsense": use "<attribute>==<value>" or "<attribute>!=<value>", e.g. "node.hostname==worker-1"',
    'spec.sources[0].placement.prefs: unknown key "prefs"',
    'spec.sources[0].endpoint_mode: invalid endpoint_mode "ipvs": use "dnsrr" or "vip"',
  ];
  for (const text of expected) {
    const line = lines.find((l) => l.includes(text));
    assertEquals(line !== undefined, true, `${text}\nnot in:\n${result.stderr}`);
    assertStringIncludes(line ?? "", `${file}:`);
  }
});

Deno.test("a swarm component without an image is refused", async () => {
  const file = await writeTemp(
    "noimage.yaml",
    pipelineYaml("noimage", "  driver: swarm\n  sources:\n    - id: b\n      command: [x]\n"),
  );
  const result = await runFlowctl(["validate", file]);
  assertEquals(result.code, 2, result.stdout);
  assertStringIncludes(
    result.stderr,
    'spec.sources[0]: component "b" needs an "image" to run as a swarm service',
  );
});

Deno.test("an unknown --orchestrator names all three", async () => {
  const result = await runFlowctl([
    "validate",
    `${ROOT}examples/ttp-pipeline.yaml`,
    "--orchestrator",
    "nomad",
  ]);
  assertEquals(result.code, 2);
  assertStringIncludes(result.stderr, 'use "process", "container" or "swarm"');
});
