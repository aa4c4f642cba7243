import { assertEquals } from "../../tests/assert.ts";
import { probeHttp, probeTcp } from "./probe.ts";

Deno.test("probeHttp() passes on 2xx and explains everything else", async () => {
  let status = 200;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("x", { status }),
  );
  const port = server.addr.port;
  try {
    assertEquals(
      await probeHttp({ hostname: "127.0.0.1", port, path: "/health" }, { timeoutMs: 1000 }),
      { ok: true },
    );
    status = 503;
    assertEquals(
      await probeHttp({ hostname: "127.0.0.1", port, path: "health" }, { timeoutMs: 1000 }),
      { ok: false, reason: "GET /health returned 503" },
    );
  } finally {
    await server.shutdown();
  }
  assertEquals(
    await probeHttp({ hostname: "127.0.0.1", port, path: "/health" }, { timeoutMs: 1000 }),
    { ok: false, reason: "GET /health failed: connection refused" },
  );
});

Deno.test("probeHttp() times out on a server that never answers", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) accepted.push(conn);
  })();
  try {
    const result = await probeHttp({
      hostname: "127.0.0.1",
      port: (listener.addr as Deno.NetAddr).port,
      path: "/",
    }, { timeoutMs: 100 });
    assertEquals(result, { ok: false, reason: "GET / failed: timed out" });
    assertEquals(
      (await probeTcp({ hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port }, {
        timeoutMs: 500,
      })).ok,
      true,
    );
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of accepted) conn.close();
  }
});
