/**
 * Container mode: flowctl-sdk v1 fixture components in containers, driven by the data path, which
 * runs on the host and dials each registered ":port" at the component's container address.
 */
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { leftovers, SKIP_DOCKER } from "./_docker.ts";
import { runFlowctl, type TestComponent, testPipeline, uniqueName } from "./_helpers.ts";
import { ledgersFrom, pipelineProcesses, sinkEvents } from "./_sdk_fixture.ts";
import { buildSdkImage, SDK_IMAGE } from "./_sdk_image.ts";

if (!SKIP_DOCKER) await buildSdkImage();

function container(
  role: "source" | "processor" | "sink",
  id: string,
  dir: string,
  extra: Record<string, unknown> = {},
): TestComponent {
  const identity = role === "source"
    ? { FLOWCTL_COMPONENT_ID: id, GRPC_PORT: "50051" }
    : { COMPONENT_ID: id, PORT: ":50051" };
  return {
    id,
    image: SDK_IMAGE,
    pull_policy: "never",
    args: [role],
    env: { ...identity, ...(role === "sink" ? { SINK_OUTPUT: `/out/${id}.out` } : {}) },
    volumes: [{ host_path: dir, container_path: "/out" }],
    ...extra,
  };
}

Deno.test({
  name:
    "container mode: the data path drives a source through a processor to two sinks in containers",
  ignore: SKIP_DOCKER,
  async fn() {
    const name = uniqueName("dp-ct");
    await using p = await testPipeline(({ dir }) => ({
      name,
      driver: "container",
      sources: [container("source", "ledgers", dir, {
        env: { FLOWCTL_COMPONENT_ID: "ledgers", GRPC_PORT: "50051", END_LEDGER: "300" },
      })],
      processors: [container("processor", "transform", dir, { inputs: ["ledgers"] })],
      sinks: [
        container("sink", "left", dir, { inputs: ["transform"] }),
        container("sink", "right", dir, { inputs: ["transform"] }),
      ],
    }));
    const result = await runFlowctl(p.args, { env: p.env });
    assertEquals(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assertStringIncludes(result.stdout, "Edge transform -> left: driven");
    assertStringIncludes(result.stdout, "All sinks finished; stopping pipeline");
    const expected = Array.from({ length: 300 }, (_, i) => i + 1);
    for (const sink of ["left", "right"]) {
      assertEquals(ledgersFrom(sinkEvents(p.dir, sink), "ledgers"), expected, sink);
    }
    assertEquals(await leftovers(name), { containers: [], networks: [] });
    assertEquals(pipelineProcesses(name), []);
  },
});
