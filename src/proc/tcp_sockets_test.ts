import { assertEquals } from "../../tests/assert.ts";
import { findPeerComponent } from "./peer_process.ts";
import { holdsSocket } from "./process_tree.ts";
import { addressKey, findTcpSocketInode, parseTcpTable } from "./tcp_sockets.ts";
import { listeningInodes, portOwner } from "./port_owner.ts";

Deno.test("addressKey() treats IPv4, IPv4-mapped IPv6 and /proc's hex as one address", () => {
  const loopback = addressKey("127.0.0.1");
  assertEquals(addressKey("::ffff:127.0.0.1"), loopback);
  assertEquals(addressKey("[::ffff:7f00:1]"), loopback);
  assertEquals(addressKey("::1"), "00000000000000000000000000000001");
  assertEquals(addressKey("fe80::1%eth0"), "fe800000000000000000000000000001");
  assertEquals(addressKey("not an address"), undefined);
  const [row] = parseTcpTable(
    "  sl  local_address rem_address   st\n" +
      "   0: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000 0 0 4242 1\n",
  );
  assertEquals(row, {
    local: { address: loopback!, port: 8080 },
    remote: { address: loopback!, port: 54321 },
    state: "01",
    inode: 4242,
  });
});

Deno.test("a connection's socket is found in /proc, and only its own process holds it", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const server = listener.addr as Deno.NetAddr;
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  using _accepted = await listener.accept();
  const client = conn.localAddr as Deno.NetAddr;
  const peer = { address: client.hostname, port: client.port };
  const local = { address: server.hostname, port: server.port };
  const inode = await findTcpSocketInode(peer, local);
  assertEquals(typeof inode, "number");
  assertEquals(holdsSocket(Deno.pid, inode!), true);
  assertEquals(await findTcpSocketInode({ ...peer, port: peer.port + 1 }, local), undefined);
  // This process is the caller here, and no component's root: it is nobody.
  assertEquals(await findPeerComponent(peer, local, [{ componentId: "c", pid: 1 }]), undefined);
});

Deno.test("portOwner() tells a listener of the given process tree from anyone else's", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  assertEquals(await portOwner(port, Deno.pid), { kind: "own" });
  const other = await portOwner(port, 2 ** 22 + 1); // no such process: nobody's tree
  assertEquals(other.kind === "other" && other.pid, Deno.pid);
  listener.close();
  assertEquals(await portOwner(port, Deno.pid), { kind: "unknown" });
});

Deno.test("listeningInodes() takes listeners on the port, not connections to it", () => {
  const table = [
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 4242 1",
    "   1: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000 0 0 4343 1",
    "   2: 00000000:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 4444 1",
    "   3: 0100007F:1F90 0100007F:D432 06 00000000:00000000 00:00000000 00000000 0 0 0 1",
    "   4: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A " +
    "00000000:00000000 00:00000000 00000000 0 0 4545 1",
  ].join("\n");
  assertEquals(listeningInodes(table, 8080), [4242, 4545]);
  assertEquals(listeningInodes(table, 8081), [4444]);
  assertEquals(listeningInodes(table, 54321), []);
});
