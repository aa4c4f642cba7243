import { assertEquals } from "../../tests/assert.ts";
import { dataPort, drivableComponents } from "./data_edges.ts";
import { parsePipeline } from "./parse_pipeline_text.ts";

function pipeline(body: string) {
  return parsePipeline(
    `apiVersion: flowctl/v1\nkind: Pipeline\nmetadata: { name: p }\nspec:\n${body}`,
    { file: "p.yaml", dir: "/work", env: {} },
  ).pipeline;
}

Deno.test("dataPort() reads the port named grpc, else PORT, else GRPC_PORT", () => {
  const { components } = pipeline(`  sources:
    - id: named
      command: [s]
      env: { PORT: ":7000" }
      ports: [{ name: grpc, containerPort: 50051 }]
    - id: listen
      command: [s]
      env: { PORT: ":55472", GRPC_PORT: "9" }
    - id: bare
      command: [s]
      env: { GRPC_PORT: "55471" }
    - id: none
      command: [s]
      env: { PORT: "x" }
`);
  assertEquals(components.map(dataPort), [50051, 55472, 55471, undefined]);
});

Deno.test("drivableComponents() leaves out ends set direct and components on no data edge", () => {
  const p = pipeline(`  sources:
    - id: src
      command: [s]
    - id: own
      command: [s]
      data_path: direct
  processors:
    - id: proc
      command: [p]
      inputs: [src, own]
  sinks:
    - id: out
      command: [k]
      inputs: [proc]
    - id: alone
      command: [k]
`);
  assertEquals([...drivableComponents(p)].sort(), ["out", "proc", "src"]);
});
