import { assertEquals } from "../../tests/assert.ts";
import { parsePipeline } from "./parse_pipeline_text.ts";

const text = `apiVersion: flowctl/v1
kind: Pipeline
metadata: { name: refs }
spec:
  sources:
    - id: hosted
      image: img:1
      command: [serve]
      network_mode: host
      ports: [{ name: grpc, containerPort: 9000 }]
    - id: bridged
      image: img:1
      command: [serve]
      ports: [{ name: grpc, containerPort: 9001 }]
  sinks:
    - id: reader
      image: img:1
      command: [read]
      inputs: [hosted, bridged]
      env:
        HOSTED: \${components.hosted.endpoint}
        BRIDGED: \${components.bridged.endpoint}
`;

function envOf(orchestrator: "process" | "container") {
  const { pipeline } = parsePipeline(text, { file: "p.yaml", dir: "/work", env: {}, orchestrator });
  return pipeline.components.find((c) => c.id === "reader")?.env;
}

Deno.test("component references follow the orchestrator's addressing", async (t) => {
  await t.step("processes: loopback", () => {
    assertEquals(envOf("process"), { HOSTED: "127.0.0.1:9000", BRIDGED: "127.0.0.1:9001" });
  });
  await t.step("containers: the alias, or the host for a container on the host's network", () => {
    assertEquals(envOf("container"), {
      HOSTED: "host.docker.internal:9000",
      BRIDGED: "bridged:9001",
    });
  });
});
