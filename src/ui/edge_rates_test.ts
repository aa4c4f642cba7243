import { assertEquals } from "../../tests/assert.ts";
import type { RegistrationView } from "../runner/run_view.ts";
import { EdgeRates, HISTORY_POINTS, outputCounter } from "./edge_rates.ts";

function beat(componentId: string, at: number, metrics: Record<string, string>): RegistrationView {
  return {
    componentId,
    registeredAt: 0,
    lastHeartbeat: at,
    status: "healthy",
    stale: false,
    metrics,
  };
}

Deno.test("outputCounter() prefers a counter named like output, then any count", () => {
  assertEquals(outputCounter({ streaming: "1", events_emitted: "7", events_received: "9" }), {
    name: "events_emitted",
    value: 7,
  });
  assertEquals(outputCounter({ ledgers_total: "3", note: "x" }), {
    name: "ledgers_total",
    value: 3,
  });
  assertEquals(outputCounter({ streaming: "1", uptime: "5" }), undefined);
});

Deno.test("EdgeRates reads a producer's rate from the change of its counter between heartbeats", () => {
  const rates = new EdgeRates(1_000);
  rates.observeHeartbeats([beat("src", 10_000, { ledgers_served: "100" })]);
  assertEquals(rates.rate("src", "sink", 10_000).eventsPerSecond, 0, "one heartbeat: no rate yet");
  rates.observeHeartbeats([beat("src", 12_000, { ledgers_served: "150" })]);
  assertEquals(rates.rate("src", "sink", 12_500), {
    eventsPerSecond: 25,
    events: 150,
    source: "heartbeat",
    metric: "ledgers_served",
  });
  assertEquals(rates.rate("src", "sink", 15_001).eventsPerSecond, 0, "stale after 3 intervals");
  rates.observeHeartbeats([beat("src", 16_000, { ledgers_served: "4" })]);
  assertEquals(rates.rate("src", "sink", 16_000).eventsPerSecond, 0, "a reset counter restarts");
  assertEquals(rates.rate("other", "sink", 16_000), { eventsPerSecond: 0, source: "none" });
});

Deno.test("EdgeRates takes the data path's figures over heartbeats, and keeps a bounded history", () => {
  const rates = new EdgeRates(1_000);
  rates.observeHeartbeats([beat("src", 1_000, { events_emitted: "1" })]);
  rates.observeEdge({
    from: "src",
    to: "sink",
    events: 500,
    eventsPerSecond: 50,
    bytesPerSecond: 4096,
  }, 1_000);
  assertEquals(rates.rate("src", "sink", 2_000), {
    eventsPerSecond: 50,
    bytesPerSecond: 4096,
    events: 500,
    source: "data path",
  });
  assertEquals(rates.rate("src", "sink", 7_000).eventsPerSecond, 0, "no figures for 5 s: 0");
  for (let i = 0; i < HISTORY_POINTS + 5; i++) rates.sample([{ from: "src", to: "sink" }], 2_000);
  assertEquals(rates.history("src->sink").length, HISTORY_POINTS);
  assertEquals(rates.history("src->sink")[0], 50);
});
