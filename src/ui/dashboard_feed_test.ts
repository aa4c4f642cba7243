import { assertEquals, assertMatch } from "../../tests/assert.ts";
import { DashboardFeed, TIMELINE_CAPACITY } from "./dashboard_feed.ts";
import { newToken, tokenMatches } from "./dashboard_token.ts";

Deno.test("DashboardFeed keeps the timeline in the NDJSON shape, bounded, and learns from it", () => {
  let now = Date.UTC(2026, 0, 1);
  const feed = new DashboardFeed({ heartbeatMs: 1_000, now: () => now });
  const seen: (number | undefined)[] = [];
  feed.subscribe((entry) => seen.push(entry?.seq));
  feed.record({ type: "component_waiting", component: "a", waitedMs: 5_000, lastProbe: "refused" });
  now += 1_000;
  feed.record({ type: "component_healthy", component: "a", afterMs: 6_000, checked: true });
  feed.record({ type: "component_exited", component: "b", exit: { code: 3, signal: null } });
  feed.record({ type: "pipeline_started", afterMs: 6_000 });
  feed.record({
    type: "edge_stats",
    from: "a",
    to: "b",
    mode: "driven",
    events: 1,
    bytes: 2,
    eventsPerSecond: 3,
    bytesPerSecond: 4,
  });
  assertEquals(seen, [1, 2, 3, 4, undefined], "edge figures notify without a timeline entry");
  assertEquals(feed.timeline()[0], {
    seq: 1,
    time: "2026-01-01T00:00:00.000Z",
    event: "component_waiting",
    component: "a",
    waitedMs: 5_000,
    lastProbe: "refused",
  });
  assertEquals(feed.facts("a").lastProbe, { ok: true, text: "passed", time: now });
  assertEquals(feed.facts("b").lastExit, "exited with code 3");
  assertEquals(feed.state, "running");
  assertEquals(feed.rates.rate("a", "b", now).eventsPerSecond, 3);
  feed.record({ type: "edge_decided", from: "a", to: "b", mode: "direct", reason: "b dials a" });
  assertEquals(feed.decision("a->b"), { mode: "direct", reason: "b dials a" });
  feed.record({ type: "pipeline_failed", component: "b", reason: "b exited", logTail: [] });
  feed.record({ type: "pipeline_stopped" });
  assertEquals([feed.state, feed.failure], ["failed", "b exited"]);
  for (let i = 0; i < TIMELINE_CAPACITY; i++) feed.record({ type: "notice", message: `${i}` });
  assertEquals(feed.timeline().length, TIMELINE_CAPACITY);
  assertEquals(feed.timeline()[0]?.event, "notice");
});

Deno.test("newToken() makes 24 URL-safe characters; tokenMatches() accepts only the same", () => {
  const token = newToken();
  assertMatch(token, /^[A-Za-z0-9_-]{24}$/);
  assertEquals(tokenMatches(token, token), true);
  assertEquals(tokenMatches(token.slice(0, -1) + (token.endsWith("a") ? "b" : "a"), token), false);
  assertEquals(tokenMatches(token.slice(1), token), false);
  assertEquals(new Set(Array.from({ length: 50 }, newToken)).size, 50);
});
