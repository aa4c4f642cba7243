import { assertEquals, assertStringIncludes } from "./assert.ts";
import { ExitCode } from "../src/cli/exit_code.ts";
import { ROOT, runFlowctl, tempDir, writeTemp } from "./_helpers.ts";

const EXAMPLE = `${ROOT}examples/ttp-pipeline.yaml`;

const TYPED = `apiVersion: flowctl/v1
kind: Pipeline
metadata:
  name: typed
spec:
  driver: container
  sources:
    - id: src
      image: acme/src:1
      output_event_types: [ledger, trade]
      ports: [{ name: grpc, containerPort: 50051, hostPort: 6000 }]
    - id: migrate
      image: acme/migrate:1
  processors:
    - id: proc
      image: acme/proc:1
      inputs: [src]
      input_event_types: [ledger]
      output_event_types: ["quote\\"d"]
      depends_on: [migrate]
  sinks:
    - id: sink
      image: acme/sink:1
      command: [./bin/sink, --fast]
      inputs: [proc]
`;

Deno.test("flowctl graph prints the example as a left-to-right Mermaid flowchart", async () => {
  const result = await runFlowctl(["graph", EXAMPLE]);
  assertEquals(result.code, ExitCode.ok, result.stderr);
  const lines = result.stdout.trimEnd().split("\n");
  assertEquals(lines[0], "flowchart LR");
  assertEquals(lines.length, 6);
  assertStringIncludes(
    result.stdout,
    'c0(["<b>stellar-live-source-datalake</b><br/>source · process<br/>deno run -A --quiet components/source/main.ts<br/>ports: grpc 50051, health 8088"])',
  );
  assertStringIncludes(result.stdout, 'c2[("<b>consumer-app</b><br/>sink · process<br/>npm start');
  assertEquals(lines.slice(4), ["  c0 --> c1", "  c1 --> c2"]);
});

Deno.test("flowctl graph labels edges with declared event types and dashes depends_on", async (t) => {
  await using dir = await tempDir();
  const file = await writeTemp("typed.yaml", TYPED, dir.path);
  await t.step("dot", async () => {
    const result = await runFlowctl(["graph", file, "--format", "dot"]);
    assertEquals(result.code, ExitCode.ok, result.stderr);
    assertStringIncludes(result.stdout, 'digraph "typed" {\n  rankdir=LR;');
    assertStringIncludes(
      result.stdout,
      '"src" [label="src\\nsource · container\\nacme/src:1\\nports: grpc 6000->50051", shape=invhouse];',
    );
    assertStringIncludes(result.stdout, '"src" -> "proc" [label="ledger"];');
    assertStringIncludes(result.stdout, '"proc" -> "sink" [label="quote\\"d"];');
    assertStringIncludes(result.stdout, '"migrate" -> "proc" [style=dashed];');
  });
  await t.step("mermaid", async () => {
    const result = await runFlowctl(["graph", file]);
    assertEquals(result.code, ExitCode.ok, result.stderr);
    assertStringIncludes(result.stdout, '  c0 -->|"ledger"| c2');
    assertStringIncludes(result.stdout, '  c2 -->|"quote#34;d"| c3');
    assertStringIncludes(result.stdout, '  c1 -.->|"starts after"| c2');
  });
  await t.step("json", async () => {
    const result = await runFlowctl([
      "graph",
      file,
      "--format",
      "json",
      "--orchestrator",
      "process",
    ]);
    assertEquals(result.code, ExitCode.ok, result.stderr);
    const graph = JSON.parse(result.stdout);
    assertEquals(graph.levels, [["src", "migrate"], ["proc"], ["sink"]]);
    assertEquals(graph.components[3], {
      id: "sink",
      kind: "sink",
      mode: "process",
      command: [`./bin/sink`, "--fast"],
      ports: [],
      level: 2,
    });
    assertEquals(graph.edges, [
      { from: "src", to: "proc", kind: "data", eventTypes: ["ledger"] },
      { from: "migrate", to: "proc", kind: "order", eventTypes: [] },
      { from: "proc", to: "sink", kind: "data", eventTypes: ['quote"d'] },
    ]);
  });
});

Deno.test("flowctl graph exits 2 for an unknown format or an invalid file, starting nothing", async () => {
  const format = await runFlowctl(["graph", EXAMPLE, "--format", "svg"]);
  assertEquals(format.code, ExitCode.usage);
  assertStringIncludes(format.stderr, 'invalid --format "svg": use "mermaid", "dot" or "json"');
  await using dir = await tempDir();
  const file = await writeTemp(
    "bad.yaml",
    TYPED.replace("inputs: [proc]", "inputs: [nope]"),
    dir.path,
  );
  const invalid = await runFlowctl(["graph", file]);
  assertEquals(invalid.code, ExitCode.usage);
  assertStringIncludes(invalid.stderr, "nope");
});
