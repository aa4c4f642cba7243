import { assertEquals } from "../../tests/assert.ts";
import { ComponentType, parseHeartbeatInterval, startFlowctl } from "./flowctl_sdk.ts";

Deno.test("parseHeartbeatInterval() reads Go durations and falls back to 10 s", () => {
  assertEquals(parseHeartbeatInterval("10s"), 10_000);
  assertEquals(parseHeartbeatInterval("500ms"), 500);
  assertEquals(parseHeartbeatInterval("1m30s"), 90_000);
  assertEquals(parseHeartbeatInterval(undefined), 10_000);
  assertEquals(parseHeartbeatInterval("soon"), 10_000);
});

Deno.test("startFlowctl() does nothing unless ENABLE_FLOWCTL=true", async () => {
  const session = await startFlowctl({
    type: ComponentType.SOURCE,
    env: { FLOWCTL_ENDPOINT: "127.0.0.1:1" },
  });
  assertEquals(session.serviceId, "");
  await session.stop();
});
