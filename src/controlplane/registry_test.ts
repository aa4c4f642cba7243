import { assertEquals, assertThrows } from "../../tests/assert.ts";
import {
  MAX_UNMATCHED_REGISTRATIONS,
  RegistrationLimitError,
  Registry,
  type RegistryEvent,
} from "./registry.ts";

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

Deno.test("Registry: the caller's identity wins; a component's own service id still finds its record", () => {
  const { registry } = setup();
  const registration = registry.register(
    { ...base, serviceId: "consumer-1f2e", healthEndpoint: "http://localhost:8093/health" },
    { peer: "sink" },
  );
  assertEquals([registration.serviceId, registration.componentId, registration.matchedBy], [
    "sink",
    "sink",
    "peer identity",
  ]);
  assertEquals(registry.heartbeat("consumer-1f2e", {})?.componentId, "sink");
  registry.register({ ...base, serviceId: "consumer-9a9a" }, { peer: "sink" });
  assertEquals(registry.list().length, 1, "a re-registration replaces the earlier record");
});

Deno.test("Registry: unmatched registrations are bounded, say why, and are dropped when stale", () => {
  const { registry, events, advance } = setup();
  const stranger = registry.register({ ...base, serviceId: "x", healthEndpoint: ":8093" });
  assertEquals(
    stranger.unmatchedReason,
    'service_id "x" names no component; its health_endpoint ":8093" names port 8093, which is not a health port of any component',
  );
  assertEquals(
    registry.describeUnmatched(),
    `"x": ${stranger.unmatchedReason}`,
    "what a component that never registered can be told",
  );
  for (let i = 1; i < MAX_UNMATCHED_REGISTRATIONS; i++) {
    registry.register({ ...base, serviceId: `s${i}` });
  }
  assertThrows(() => registry.register({ ...base, serviceId: "one-more" }), RegistrationLimitError);
  registry.register({ ...base, componentId: "source" }); // components always have room
  advance(3_100);
  registry.checkStaleness();
  assertEquals(registry.list().map((r) => r.serviceId), ["source"]);
  assertEquals(events.filter((e) => e.startsWith("dropped")).length, MAX_UNMATCHED_REGISTRATIONS);
});

Deno.test("Registry: a heartbeat flood is reported once per component", () => {
  const { registry, events, advance } = setup();
  registry.register({ ...base, componentId: "source" });
  for (let i = 0; i < 10; i++) {
    registry.heartbeat("source", {});
    advance(99); // ten per interval is still fine
  }
  assertEquals(events.filter((e) => e.startsWith("heartbeat_flood")), []);
  for (let i = 0; i < 300; i++) {
    registry.heartbeat("source", {});
    advance(10);
  }
  registry.register({ ...base, componentId: "source" });
  for (let i = 0; i < 30; i++) registry.heartbeat("source", {});
  assertEquals(events.filter((e) => e.startsWith("heartbeat_flood")), ["heartbeat_flood source"]);
});
