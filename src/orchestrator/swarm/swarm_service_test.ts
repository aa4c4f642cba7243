import { assertEquals } from "../../../tests/assert.ts";
import { parsePipeline } from "../../config/parse_pipeline_text.ts";
import { publishedDataPort, serviceSpec } from "./swarm_service.ts";

const { pipeline } = parsePipeline(
  `apiVersion: flowctl/v1
kind: Pipeline
metadata: { name: p }
spec:
  driver: swarm
  sources:
    - id: src
      image: s:1
      env: { GRPC_PORT: "55471" }
  processors:
    - id: proc
      image: p:1
      inputs: [src]
      env: { PORT: ":55472" }
      ports: [{ name: data, containerPort: 55472, hostPort: 31000 }]
  sinks:
    - id: out
      image: k:1
      inputs: [proc]
      env: { PORT: ":55473" }
      data_path: direct
`,
  { file: "p.yaml", dir: "/work", env: {} },
);

function ports(id: string): unknown {
  const component = pipeline.components.find((c) => c.id === id);
  if (!component) throw new Error(id);
  const spec = serviceSpec(component, {
    name: id,
    env: {},
    labels: {},
    secrets: [],
    networkId: "net",
    dataPort: publishedDataPort(pipeline, component),
  });
  return (spec.EndpointSpec as { Ports: unknown }).Ports;
}

Deno.test("serviceSpec() publishes a drivable component's data port on a port its node picks", () => {
  assertEquals(ports("src"), [{ Protocol: "tcp", TargetPort: 55471, PublishMode: "host" }]);
  // Published by the file already: kept as it is, not published twice.
  assertEquals(ports("proc"), [
    { Protocol: "tcp", TargetPort: 55472, PublishedPort: 31000, PublishMode: "host" },
  ]);
  // data_path: direct: nothing for the data path to dial.
  assertEquals(ports("out"), []);
});
