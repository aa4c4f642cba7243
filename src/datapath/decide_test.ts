import { assertEquals } from "../../tests/assert.ts";
import { decideComponent, decideEdge, dialAddress, unreachableReason } from "./decide.ts";
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
  assertEquals(dialAddress(":55472", undefined, "127.0.0.1"), "127.0.0.1:55472");
  assertEquals(dialAddress("0.0.0.0:55472", undefined, "127.0.0.1"), "127.0.0.1:55472");
  assertEquals(dialAddress("[::]:55472", undefined, "127.0.0.1"), "127.0.0.1:55472");
  assertEquals(dialAddress("10.0.0.7:55472", undefined, "127.0.0.1"), "10.0.0.7:55472");
  assertEquals(dialAddress(":55472", { host: "172.18.0.5" }, "127.0.0.1"), "172.18.0.5:55472");
});

Deno.test("dialAddress() dials a swarm task at the port its node publishes, or not at all", () => {
  const remote = { published: { "55472": "10.0.0.2:30001" }, where: 'node "w1" (10.0.0.2)' };
  assertEquals(dialAddress(":55472", remote, ""), "10.0.0.2:30001");
  // Another port of a task on another node, or a task the runner has not placed yet: no address.
  assertEquals(dialAddress(":55473", remote, ""), undefined);
  assertEquals(dialAddress(":55472", undefined, ""), undefined);
  assertEquals(
    unreachableReason("p", ":55473", remote).startsWith(
      '"p" registered :55473, a port of its task on node "w1" (10.0.0.2) that flowctl\'s host cannot reach',
    ),
    true,
  );
});
