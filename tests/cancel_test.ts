/**
 * Ctrl+C while flowctl waits on a registry (a pull, or asking whether an image can be pulled)
 * ends the run at once: the signal reaches the request (issue 10, item 3).
 */
import { ExitCode } from "../src/cli/exit_code.ts";
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { SKIP_DOCKER } from "./_docker.ts";
import { FlowctlProcess, testPipeline, uniqueName, waitFor } from "./_helpers.ts";

/** A TCP server on loopback that accepts connections and never answers. */
function silentServer(): { port: number; connections: () => number } & Disposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const conn of listener) held.push(conn);
    } catch {
      // closed
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    connections: () => held.length,
    [Symbol.dispose]() {
      listener.close();
      for (const conn of held) conn.close();
    },
  };
}

Deno.test("process mode: Ctrl+C during a registry pull that never answers stops the run at once", async () => {
  using registry = silentServer();
  await using p = await testPipeline({
    name: uniqueName("cancel-pull"),
    sources: [{ id: "src", type: `127.0.0.1:${registry.port}/acme/src@v1` }],
  });
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  await waitFor(() => registry.connections() > 0, "flowctl asking the registry");
  const asked = performance.now();
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, ExitCode.ok, result.stderr);
  assertStringIncludes(result.stdout, "Pipeline stopped successfully");
  assertEquals(performance.now() - asked < 5_000, true, "stopped within 5 s");
});

Deno.test({
  name: "container mode: Ctrl+C while the engine asks a registry that never answers stops the run",
  ignore: SKIP_DOCKER,
  async fn() {
    using registry = silentServer();
    await using p = await testPipeline({
      name: uniqueName("cancel-engine"),
      driver: "container",
      sources: [{ id: "src", image: `127.0.0.1:${registry.port}/acme/src:v1` }],
    });
    await using flowctl = new FlowctlProcess(p.args, { env: p.env });
    await waitFor(() => registry.connections() > 0, "the engine asking the registry", 30_000);
    const asked = performance.now();
    flowctl.kill("SIGINT");
    const result = await flowctl.result();
    assertEquals(result.code, ExitCode.ok, result.stderr);
    assertStringIncludes(result.stdout, "Pipeline stopped successfully");
    assertEquals(performance.now() - asked < 5_000, true, "stopped within 5 s");
  },
});
