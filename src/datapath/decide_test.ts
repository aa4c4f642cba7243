import { assertEquals } from "../../tests/assert.ts";
import { decideComponent, decideEdge, dialAddress } from "./decide.ts";
import type { PlannedComponent } from "./plan.ts";

const processor: PlannedComponent = { id: "p", role: "processor", inputs: [], streamParams: {} };
const registration = { type: "processor", endpoint: ":55472" };

Deno.test("decideComponent() drives a component registered as a v1 processor that serves the service", () => {
  const served = decideComponent(processor, registration, ["flowctl.v1.ProcessorService"]);
  assertEquals(served.driven, true);
  const other = decideComponent(processor, registration, ["token_transfer_service.EventService"]);
  assertEquals(other, {
    driven: false,
    reason: '"p" does not serve flowctl.v1.ProcessorService at :55472',
  });
  assertEquals(decideComponent(processor, undefined, undefined).reason, '"p" did not register');
  assertEquals(
    decideComponent(processor, { type: "sink", endpoint: ":1" }, []).reason,
    '"p" registered as sink, not as a processor',
  );
  assertEquals(
    decideComponent(processor, registration, "connection refused").reason,
    '"p" answered no gRPC reflection at :55472 (connection refused)',
  );
  assertEquals(
    decideComponent({ ...processor, forced: "driven" }, undefined, undefined).driven,
    true,
  );
});

Deno.test("decideEdge() drives an edge only when both ends are driven", () => {
  const yes = { driven: true as const, reason: "y" };
  const no = { driven: false as const, reason: "n" };
  assertEquals(decideEdge(yes, no), no);
  assertEquals(decideEdge(no, yes), no);
  assertEquals(decideEdge(yes, yes).driven, true);
});

Deno.test("dialAddress() puts the component's host in an endpoint registered without one", () => {
  assertEquals(dialAddress(":55472", "127.0.0.1"), "127.0.0.1:55472");
  assertEquals(dialAddress("0.0.0.0:55472", "127.0.0.1"), "127.0.0.1:55472");
  assertEquals(dialAddress("[::]:55472", "127.0.0.1"), "127.0.0.1:55472");
  assertEquals(dialAddress("10.0.0.7:55472", "127.0.0.1"), "10.0.0.7:55472");
});
