import { assertEquals } from "../../tests/assert.ts";
import { parsePipeline } from "../config/parse_pipeline_text.ts";
import type { ComponentSnapshot } from "../runner/events.ts";
import type { RunView } from "../runner/run_view.ts";
import { DashboardFeed } from "./dashboard_feed.ts";
import { initPayload } from "./dashboard_view.ts";

const FILE = `apiVersion: flowctl/v1
kind: Pipeline
metadata: { name: view }
spec:
  sources:
    - id: src
      command: [x]
      env:
        API_TOKEN: abc
        DB_URL: "postgres://app:hunter2@db:5432/x"
        PLAIN: visible
  sinks:
    - id: sink
      command: [x]
      inputs: [src]
`;

function view(phases: Record<string, ComponentSnapshot["phase"]>): RunView {
  const { pipeline } = parsePipeline(FILE, { file: "view.yaml", dir: "/tmp", env: {} });
  return {
    runId: "run",
    pipeline: () => pipeline,
    snapshot: () =>
      pipeline.components.map((c) => ({
        id: c.id,
        kind: c.kind,
        phase: phases[c.id] ?? "pending",
        restarts: 0,
      })),
    registrations: () => [],
    control: () => Promise.resolve([]),
  };
}

Deno.test("initPayload() masks secrets in env and says what a pending component waits on", () => {
  const feed = new DashboardFeed({ heartbeatMs: 1_000 });
  const init = initPayload(
    view({ src: "starting" }),
    feed,
    { usage: new Map(), nodes: new Map() },
    0,
  );
  assertEquals(init.details["src"]?.env, [
    ["API_TOKEN", "••••••"],
    ["DB_URL", "postgres://app:••••••@db:5432/x"],
    ["PLAIN", "visible"],
  ]);
  const sink = init.state.components.find((c) => c.id === "sink");
  assertEquals([sink?.state, sink?.waitsOn], ["waiting", ["src"]]);
  assertEquals(init.state.edges.map((e) => e.key), ["src->sink"]);
  const ready = initPayload(
    view({ src: "healthy" }),
    feed,
    { usage: new Map(), nodes: new Map() },
    0,
  );
  const after = ready.state.components.find((c) => c.id === "sink");
  assertEquals([after?.state, after?.waitsOn], ["pending", []]);
});
