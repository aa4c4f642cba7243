import { assertEquals } from "../../../tests/assert.ts";
import { identifySwarmCaller, type TaskPresence } from "./swarm_identity.ts";

const components = [
  { id: "source", healthPorts: [8088] },
  { id: "processor", healthPorts: [8089] },
  { id: "sink", healthPorts: [3000] },
];
const task = (component: string, node: string, nodeAddress: string, own?: string) =>
  ({
    component,
    nodeName: node,
    nodeAddress,
    bridgeAddress: own,
    overlayAddress: undefined,
    local: false,
  }) satisfies TaskPresence;
// Two components on worker1, one on worker2; the manager's task calls from its own address.
const tasks = [
  task("source", "worker1", "10.0.0.2"),
  task("processor", "worker1", "10.0.0.2"),
  task("sink", "worker2", "10.0.0.3", "172.18.0.5"),
];

Deno.test("identifySwarmCaller() matches a claim to a component with a task on the caller's node", () => {
  assertEquals(
    identifySwarmCaller("10.0.0.2", { ids: ["processor"] }, tasks, components),
    "processor",
  );
  assertEquals(
    identifySwarmCaller("::ffff:10.0.0.2", { ids: ["source"] }, tasks, components),
    "source",
  );
  // An older component names only a health endpoint on its own port.
  assertEquals(
    identifySwarmCaller(
      "10.0.0.2",
      { ids: ["consumer-1"], healthEndpoint: "http://localhost:8089/health" },
      tasks,
      components,
    ),
    "processor",
  );
  // Alone on its node, a task is that node's component whatever it sends.
  assertEquals(identifySwarmCaller("10.0.0.3", { ids: [] }, tasks, components), "sink");
  // Its own address names it outright.
  assertEquals(identifySwarmCaller("172.18.0.5", undefined, tasks, components), "sink");
});

Deno.test("identifySwarmCaller() refuses a claim that does not fit the caller's node, with the reason", () => {
  assertEquals(identifySwarmCaller("10.0.0.2", { ids: ["sink"] }, tasks, components), {
    refused:
      'comes from node "worker1" (10.0.0.2), where component "sink" has no running task (tasks of "source", "processor" run there)',
  });
  assertEquals(identifySwarmCaller("10.0.0.2", { ids: ["someone"] }, tasks, components), {
    refused:
      'comes from node "worker1" (10.0.0.2), which runs tasks of "source", "processor", and names none of them: a component there must send its COMPONENT_ID (or a health_endpoint on its own health port)',
  });
  assertEquals(identifySwarmCaller("10.0.0.9", { ids: ["source"] }, tasks, components), undefined);
});
