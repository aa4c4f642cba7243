/**
 * Error messages reach a stock grpc-js client as they were written: `grpc-message` is
 * percent-encoded only where the gRPC spec asks (bytes outside printable ASCII, and `%`).
 */
import { ExitCode } from "../src/cli/exit_code.ts";
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { FlowctlProcess, ROOT, testPipeline, uniqueName } from "./_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

async function grpcJs(endpoint: string, steps: unknown[]): Promise<Json[]> {
  const { code, stdout, stderr } = await new Deno.Command("node", {
    args: [`${ROOT}tests/interop/client.cjs`, endpoint, JSON.stringify(steps)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

Deno.test('control plane: grpc-js clients read error messages as written (; " ( ) and UTF-8)', async () => {
  await using p = await testPipeline({
    name: uniqueName("cpmsg"),
    sources: [{ id: "src", command: ["sleep", "600"] }],
  });
  await using flowctl = new FlowctlProcess([...p.args, "--output", "json"], { env: p.env });
  await flowctl.waitForOutput('"event":"pipeline_started"');
  const endpoint = JSON.parse(flowctl.stdout.split("\n")[0] ?? "{}").controlPlane;
  const [register, status, beat, legacyBeat] = await grpcJs(endpoint, [
    { service: "v1", method: "RegisterComponent", request: { component_id: "src" } },
    { service: "v1", method: "GetComponentStatus", request: { service_id: "zürich-100%" } },
    { service: "v1", method: "Heartbeat", request: { service_id: "src" } },
    { service: "legacy", method: "Heartbeat", request: { service_id: "src" } },
  ]);
  // Through Connect: quotes, parentheses and semicolons arrive as such, and so do UTF-8 and %.
  assertEquals(register.ok, false);
  assertStringIncludes(register.details, 'registration refused: the caller at "127.0.0.1:');
  assertStringIncludes(register.details, "nor its container); flowctl run --open-control-plane");
  assertEquals(
    status.details,
    'service "zürich-100%" is not registered in this run; register first',
  );
  // Heartbeats of both services, answered apart from Connect, encode the same way.
  for (const result of [beat, legacyBeat]) {
    assertEquals(result.ok, false);
    assertStringIncludes(result.details, 'heartbeat refused: the caller at "127.0.0.1:');
    assertStringIncludes(result.details, "nor its container); flowctl run --open-control-plane");
  }
  flowctl.kill("SIGINT");
  assertEquals((await flowctl.result()).code, ExitCode.ok);
});
