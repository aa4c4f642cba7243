import { assertEquals } from "../../tests/assert.ts";
import { parsePipeline } from "../config/parse_pipeline_text.ts";
import { carryEdges, planChange, planDataPath } from "./plan.ts";

function plan(body: string, orchestrator?: "container" | "swarm") {
  const { pipeline } = parsePipeline(
    `apiVersion: flowctl/v1\nkind: Pipeline\nmetadata: { name: demo }\nspec:\n${body}`,
    { file: "p.yaml", dir: "/work", env: {}, ...(orchestrator ? { orchestrator } : {}) },
  );
  return planDataPath(pipeline);
}

const FANOUT = `  sources:
    - id: src
      command: [src]
      env: { START_LEDGER: "100", END_LEDGER: "200" }
    - id: other
      command: [src]
      config: { start_ledger: 5 }
  processors:
    - id: proc
      command: [proc]
      inputs: [src, other]
  sinks:
    - id: a
      command: [sink]
      inputs: [proc]
    - id: b
      command: [sink]
      inputs: [proc]
      data_path: direct
`;

Deno.test("planDataPath() takes edges from inputs: fan-in, fan-out, direct where the file says", () => {
  const { edges, plan: p } = plan(FANOUT);
  assertEquals(edges.map((e) => `${e.from}>${e.to}:${e.mode}`), [
    "src>proc:at-run",
    "other>proc:at-run",
    "proc>a:at-run",
    "proc>b:direct",
  ]);
  assertEquals(edges[3]?.reason, 'data_path: direct on "b"');
  assertEquals(p?.edges.length, 3);
  assertEquals(p?.components.map((c) => `${c.id}:${c.role}:${c.inputs.join("+")}`), [
    "src:source:",
    "other:source:",
    "proc:processor:src+other",
    "a:sink:proc",
  ]);
});

Deno.test("planDataPath() fills StreamRequest params from START_LEDGER/END_LEDGER as the Go flowctl does", () => {
  const { plan: p } = plan(FANOUT);
  assertEquals(p?.components[0]?.streamParams, { start_ledger: "100", end_ledger: "200" });
  // config keys become the same variables; an absent END_LEDGER leaves the stream unbounded.
  assertEquals(p?.components[1]?.streamParams, { start_ledger: "5" });
});

Deno.test("planDataPath() drives an edge forced on both ends without waiting, and in swarm mode at its nodes' published ports", () => {
  const forced = plan(`  sources:
    - id: src
      command: [src]
      data_path: driven
  sinks:
    - id: out
      command: [sink]
      inputs: [src]
      data_path: driven
`);
  assertEquals(forced.edges[0]?.mode, "driven");
  assertEquals(forced.plan?.components.map((c) => c.forced), ["driven", "driven"]);
  const body =
    `  sources:\n    - id: src\n      image: s:1\n  sinks:\n    - id: out\n      image: k:1\n      inputs: [src]\n`;
  assertEquals(plan(body, "container").edges[0]?.mode, "at-run");
  const swarm = plan(body, "swarm");
  assertEquals(swarm.edges[0]?.mode, "at-run");
  assertEquals(
    swarm.edges[0]?.reason.endsWith(
      "; in swarm mode each end is dialled at the port its node publishes for its data port",
    ),
    true,
  );
  // No fallback host in swarm mode: a task is dialled only where the runner says it is reached.
  assertEquals(swarm.plan?.host, "");
});

Deno.test("planChange() names the edges a reload adds and removes; carryEdges() keeps what is known of kept edges", () => {
  const before = plan(FANOUT);
  const after = plan(FANOUT.replace("      inputs: [src, other]", "      inputs: [src]"));
  assertEquals(planChange(before.plan!, before.plan!), undefined);
  assertEquals(planChange(before.plan!, after.plan!), "edges removed: other -> proc");
  const known = before.edges.map((e) => ({ ...e, mode: "driven" as const, events: 7 }));
  const carried = carryEdges(after.edges, before.edges, known);
  assertEquals(carried.map((e) => `${e.from}>${e.to}:${e.mode}`), [
    "src>proc:driven",
    "proc>a:driven",
    "proc>b:driven",
  ]);
  const restarted = plan(FANOUT.replace('START_LEDGER: "100"', 'START_LEDGER: "150"'));
  assertEquals(planChange(before.plan!, restarted.plan!), "components changed");
});
