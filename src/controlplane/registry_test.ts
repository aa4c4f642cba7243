import { assertEquals } from "../../tests/assert.ts";
import { Registry, type RegistryEvent } from "./registry.ts";

function setup() {
  let now = 1_000_000;
  const events: string[] = [];
  const registry = new Registry({
    components: [{ id: "source", healthPorts: [8088] }, { id: "sink", healthPorts: [8090, 18090] }],
    heartbeatIntervalMs: 1000,
    now: () => now,
    onEvent: (e: RegistryEvent) =>
      events.push(`${e.type} ${e.registration.componentId ?? e.registration.serviceId}`),
  });
  return { registry, events, advance: (ms: number) => (now += ms) };
}

const base = {
  protocol: "flowctl" as const,
  type: "sink",
  inputEventTypes: [],
  outputEventTypes: [],
  metadata: {},
};

Deno.test("Registry matches registrations by id, then metadata, then health port", () => {
  const { registry } = setup();
  assertEquals(registry.register({ ...base, componentId: "source" }).matchedBy, "component_id");
  assertEquals(registry.register({ ...base, serviceId: "source" }).matchedBy, "service_id");
  assertEquals(
    registry.register({ ...base, metadata: { component_id: "sink" } }).matchedBy,
    "metadata.component_id",
  );
  assertEquals(registry.register({ ...base, infoId: "sink" }).matchedBy, "component.id");
  const byPort = registry.register({ ...base, healthEndpoint: "http://localhost:18090/health" });
  assertEquals([byPort.componentId, byPort.matchedBy, byPort.serviceId], [
    "sink",
    "health_endpoint port",
    "sink",
  ]);
  const stranger = registry.register({ ...base, serviceId: "external-thing" });
  assertEquals([stranger.componentId, stranger.serviceId], [undefined, "external-thing"]);
});

Deno.test("Registry marks a component stale after three missed intervals and recovers it", () => {
  const { registry, events, advance } = setup();
  registry.register({ ...base, componentId: "source" });
  advance(2_500);
  registry.checkStaleness();
  assertEquals(events, ["registered source"]);
  advance(600);
  registry.checkStaleness();
  assertEquals(events.at(-1), "stale source");
  assertEquals(registry.isHealthy(registry.get("source")!), false);
  registry.heartbeat("source", {}); // no status: still restores liveness
  assertEquals(events.at(-1), "resumed source");
  assertEquals(registry.isHealthy(registry.get("source")!), true);
  registry.heartbeat("source", { status: "unhealthy" });
  assertEquals(registry.isHealthy(registry.get("source")!), false);
  registry.heartbeat("source", {});
  assertEquals(
    registry.isHealthy(registry.get("source")!),
    true,
    "a status-less heartbeat restores health",
  );
});

Deno.test("Registry refuses heartbeats of services that did not register in this run", () => {
  const { registry } = setup();
  assertEquals(registry.heartbeat("source", {}), undefined);
  registry.register({ ...base, componentId: "source" });
  assertEquals(registry.unregister("source"), true);
  assertEquals(registry.heartbeat("source", {}), undefined);
});

Deno.test("Registry.waitUntilRegistered() resolves on registration and rejects on abort", async () => {
  const { registry } = setup();
  const waiting = registry.waitUntilRegistered("sink", new AbortController().signal);
  registry.register({ ...base, healthEndpoint: ":8090" });
  await waiting;
  const abort = new AbortController();
  const never = registry.waitUntilRegistered("source", abort.signal);
  abort.abort(new Error("gave up"));
  let rejected = false;
  await never.catch(() => (rejected = true));
  assertEquals(rejected, true);
});
