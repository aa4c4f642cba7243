/** The embedded control plane against a stock @grpc/grpc-js client under Node, and curl. */
import { ExitCode } from "../src/cli/exit_code.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import {
  FlowctlProcess,
  isAlive,
  ROOT,
  runFlowctl,
  tempDir,
  type TestComponent,
  type TestPipeline,
  testPipeline,
  uniqueName,
  waitFor,
} from "./_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

async function grpcJs(endpoint: string, steps: unknown[]): Promise<Json[]> {
  const { code, stdout, stderr } = await new Deno.Command("node", {
    args: [`${ROOT}tests/interop/client.cjs`, endpoint, JSON.stringify(steps)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout);
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  return JSON.parse(text);
}

/** A pipeline of `components` under a fresh name. */
function cpPipeline(sources: TestComponent[], sinks: TestComponent[] = []) {
  return testPipeline({ name: uniqueName("cp"), sources, ...(sinks.length ? { sinks } : {}) });
}

/**
 * `flowctl run` of `p` with JSON output and `extra` arguments. These tests call as outsiders (the
 * test process), so the control plane is opened on purpose; identity is tested in
 * controlplane_security_test.ts.
 */
function runJson(p: TestPipeline, extra: string[] = []): string[] {
  return [...p.args, "--output", "json", "--open-control-plane", ...extra];
}

/** The control plane's host:port, from flowctl's first JSON event. */
async function controlPlaneOf(flowctl: FlowctlProcess): Promise<string> {
  await flowctl.waitForOutput('"event":"pipeline_starting"');
  return JSON.parse(flowctl.stdout.split("\n")[0] ?? "{}").controlPlane;
}

/** The state `flowctl status` shows for component `id` of `p`, if it shows one. */
async function statusOf(p: TestPipeline, id: string): Promise<string | undefined> {
  const status = await runFlowctl(["status", p.file, "--output", "json"]);
  if (status.code !== ExitCode.ok) return undefined;
  const components: Json[] = JSON.parse(status.stdout).pipelines[0]?.components ?? [];
  return components.find((c) => c.id === id)?.state;
}

const SLEEPER = ["sleep", "1000"];

Deno.test("control plane: registration gates readiness, and every RPC of both services answers grpc-js", async () => {
  await using p = await cpPipeline(
    [{ id: "src", command: SLEEPER, health: { registered: true } }],
    [{
      id: "old-sink",
      inputs: ["src"],
      command: SLEEPER,
      health: { registered: true },
      ports: [{ name: "health", containerPort: 18099 }],
    }],
  );
  await using flowctl = new FlowctlProcess(runJson(p));
  const endpoint = await controlPlaneOf(flowctl);
  // flowctl has started src and waits for it: a broken gate would have made it ready at once.
  await waitFor(async () => await statusOf(p, "src") === "starting", "src starting in status");
  assertEquals(
    flowctl.stdout.includes("pipeline_started"),
    false,
    "src is not ready before it registers",
  );
  const [registered] = await grpcJs(endpoint, [{
    service: "v1",
    method: "RegisterComponent",
    request: {
      component_id: "src",
      component: {
        id: "src",
        name: "source",
        type: "COMPONENT_TYPE_SOURCE",
        output_event_types: ["stellar.ledger"],
        endpoint: "127.0.0.1:50051",
        metadata: { lang: "go" },
      },
    },
  }]);
  assertEquals(registered.response.service_id, "src");
  assertEquals(registered.response.connection_info, {
    service_id: "src",
    component_id: "src",
    endpoint: "127.0.0.1:50051",
  });
  await flowctl.waitForOutput('"event":"component_registered","component":"src"');
  await flowctl.waitForOutput('"event":"component_healthy","component":"src"');
  // The old-style sink registers (by health port, see below) after src is ready.

  const results = await grpcJs(endpoint, [
    {
      service: "v1",
      method: "Heartbeat",
      request: { service_id: "src", status: "HEALTH_STATUS_HEALTHY", metrics: { ledgers: "5" } },
    },
    { service: "v1", method: "GetComponentStatus", request: { service_id: "src" } },
    {
      service: "legacy",
      method: "Register",
      request: {
        service_type: "SERVICE_TYPE_SINK",
        input_event_types: ["token.transfer"],
        health_endpoint: "http://localhost:18099/health",
        max_inflight: 10,
        metadata: {},
      },
    },
    {
      service: "legacy",
      method: "Heartbeat",
      request: {
        service_id: "old-sink",
        timestamp: { seconds: "1700000000", nanos: 0 },
        metrics: { events: 12.5 },
      },
    },
    { service: "legacy", method: "GetServiceStatus", request: { service_id: "old-sink" } },
    { service: "legacy", method: "ListServices", request: {} },
    { service: "v1", method: "ListComponents", request: { include_unhealthy: true } },
    {
      service: "v1",
      method: "ListComponents",
      request: { type_filter: "COMPONENT_TYPE_CONSUMER", include_unhealthy: true },
    },
    {
      service: "v1",
      method: "DiscoverComponents",
      request: {
        type: "COMPONENT_TYPE_SOURCE",
        event_types: ["stellar.ledger"],
        metadata_filters: { lang: "go" },
      },
    },
    { service: "legacy", method: "Heartbeat", request: { service_id: "never-registered" } },
    { service: "v1", method: "UnregisterComponent", request: { service_id: "src" } },
    { service: "v1", method: "GetComponentStatus", request: { service_id: "src" } },
  ]);
  const [
    heartbeat,
    status,
    legacyAck,
    legacyBeat,
    legacyStatus,
    services,
    all,
    consumers,
    discovered,
    unknownBeat,
    unregister,
    afterUnregister,
  ] = results;
  assertEquals(heartbeat.ok, true);
  assertEquals([status.response.component.id, status.response.status, status.response.metrics], [
    "src",
    "HEALTH_STATUS_HEALTHY",
    { ledgers: "5" },
  ]);
  assert(Number(status.response.registered_at.seconds) > 1_700_000_000);
  assertEquals(
    legacyAck.response.service_id,
    "old-sink",
    "an older component without ids is matched by its health port",
  );
  assertEquals(legacyBeat.ok, true);
  assertEquals([
    legacyStatus.response.component_id,
    legacyStatus.response.is_healthy,
    legacyStatus.response.service_type,
    legacyStatus.response.metrics,
  ], ["old-sink", true, "SERVICE_TYPE_SINK", { events: 12.5 }]);
  assertEquals(services.response.services.map((s: Json) => s.service_id).sort(), [
    "old-sink",
    "src",
  ]);
  assertEquals(all.response.components.length, 2);
  assertEquals(consumers.response.components.map((c: Json) => c.component.id), ["old-sink"]);
  assertEquals(discovered.response.components.map((c: Json) => c.id), ["src"]);
  assertEquals([unknownBeat.ok, unknownBeat.code], [false, 5]);
  assertEquals(unregister.ok, true);
  assertEquals([afterUnregister.ok, afterUnregister.code], [false, 5]);

  // status asks the running pipeline
  await grpcJs(endpoint, [{
    service: "v1",
    method: "RegisterComponent",
    request: { component_id: "src" },
  }]);
  const statusResult = await runFlowctl(["status", p.file, "--output", "json"]);
  assertEquals(statusResult.code, ExitCode.ok, statusResult.stderr);
  const pipeline = JSON.parse(statusResult.stdout).pipelines[0];
  const src = pipeline.components.find((c: Json) => c.id === "src");
  assertEquals([src.registered, src.state], [true, "healthy"]);
  assert(src.lastHeartbeatAgoMs < 10_000);
  flowctl.kill("SIGINT");
  assertEquals((await flowctl.result()).code, ExitCode.ok);
});

Deno.test("control plane: staleness after three missed heartbeats, recovery when they resume", async () => {
  await using p = await cpPipeline([{ id: "src", command: SLEEPER }]);
  await using flowctl = new FlowctlProcess(runJson(p, ["--heartbeat-interval", "100ms"]));
  const endpoint = await controlPlaneOf(flowctl);
  await flowctl.waitForOutput('"event":"pipeline_started"');
  await grpcJs(endpoint, [{
    service: "v1",
    method: "RegisterComponent",
    request: { component_id: "src" },
  }]);
  await flowctl.waitForOutput('"event":"component_stale","component":"src"');
  await grpcJs(endpoint, [{
    service: "v1",
    method: "Heartbeat",
    request: { service_id: "src" },
  }]);
  await flowctl.waitForOutput('"event":"component_heartbeat_resumed","component":"src"');
});

Deno.test("control plane: Connect JSON over curl", async () => {
  await using p = await cpPipeline([{ id: "src", command: SLEEPER }]);
  await using flowctl = new FlowctlProcess(runJson(p));
  const endpoint = await controlPlaneOf(flowctl);
  await flowctl.waitForOutput('"event":"pipeline_started"');
  const curl = async (method: string, body: unknown) => {
    const { stdout, stderr } = await new Deno.Command("curl", {
      args: [
        "-sS",
        "--http2-prior-knowledge",
        "-H",
        "content-type: application/json",
        "-d",
        JSON.stringify(body),
        `http://${endpoint}/${method}`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(stdout);
    assert(text !== "", `curl answered nothing: ${new TextDecoder().decode(stderr)}`);
    return JSON.parse(text);
  };
  const ack = await curl("flowctl.v1.ControlPlaneService/RegisterComponent", {
    componentId: "src",
    component: { type: "COMPONENT_TYPE_SOURCE" },
  });
  assertEquals(ack.serviceId, "src");
  const list = await curl("flowctl.v1.ControlPlaneService/ListComponents", {
    includeUnhealthy: true,
  });
  assertEquals(list.components[0].component.id, "src");
  assertEquals(list.components[0].status, "HEALTH_STATUS_HEALTHY");
});

Deno.test("control plane: a port in use is one clear error before anything starts", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  await using p = await testPipeline({
    name: "busy-cp",
    sources: [{ id: "src", command: SLEEPER }],
  });
  const result = await runFlowctl([
    "run",
    p.file,
    "--control-plane-port",
    String(port),
    "--log-dir",
    p.logDir,
  ]);
  assertEquals(result.code, ExitCode.failure);
  assertStringIncludes(
    result.stderr,
    `flowctl: Cannot start the control plane: port ${port} is already in use`,
  );
  assertStringIncludes(result.stderr, "--control-plane-port 0");
  assertEquals(result.stdout.includes("Starting component"), false);
});

Deno.test("the example pipeline runs end to end: every datalake event reaches the consumer, all registered", async () => {
  let expected = 0;
  for await (const entry of Deno.readDir(`${ROOT}examples/ttp/datalake`)) {
    const ledger = JSON.parse(
      await Deno.readTextFile(`${ROOT}examples/ttp/datalake/${entry.name}`),
    );
    for (const tx of ledger.transactions) expected += tx.payments.length;
  }
  await using logs = await tempDir("flowctl-example-");
  await using state = await tempDir("flowctl-example-state-");
  const env = { FLOWCTL_STATE_DIR: state.path };
  await using flowctl = new FlowctlProcess([
    "run",
    `${ROOT}examples/ttp-pipeline.yaml`,
    "--control-plane-port",
    "0",
    "--log-dir",
    logs.path,
    "--heartbeat-interval",
    "500ms",
  ], { env: { ...env, CONSUMER_HEARTBEAT_MS: "500" } }); // the consumer's interval is in ms
  await flowctl.waitForOutput("Pipeline started successfully", 60_000);
  // This run's id marks every process it started (and their children), and only those.
  const { runId } = JSON.parse(
    await Deno.readTextFile(`${state.path}/ttp-processing-pipeline.json`),
  );
  const health = await fetch("http://localhost:3000/health");
  assertEquals([health.status, await health.text()], [200, "ok\n"], "consumer health on 3000");
  await waitFor(
    () =>
      flowctl.stdout.split("\n").filter((l) =>
        l.startsWith("consumer-app") && l.includes("| event ledger=")
      ).length >= expected,
    `${expected} events`,
    30_000,
  );
  for (const id of ["stellar-live-source-datalake", "ttp-processor", "consumer-app"]) {
    await flowctl.waitForOutput(`Component ${id} registered with the control plane`);
  }
  await flowctl.waitForOutput(
    "Component consumer-app registered with the control plane (flowctl, matched by peer identity)",
  );
  // The state file is written at most every 200 ms, so status catches up shortly.
  let components: Json[] = [];
  await waitFor(async () => {
    const status = await runFlowctl([
      "status",
      `${ROOT}examples/ttp-pipeline.yaml`,
      "--output",
      "json",
    ], { env });
    components = status.code === ExitCode.ok
      ? JSON.parse(status.stdout).pipelines[0].components
      : [];
    return components.length === 3 &&
      components.every((c: Json) => c.registered && c.health === "healthy");
  }, "all three components registered and healthy in flowctl status");
  assertEquals(components.map((c: Json) => c.id), [
    "stellar-live-source-datalake",
    "ttp-processor",
    "consumer-app",
  ]);
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, ExitCode.ok, result.stderr);
  const events = result.stdout.split("\n").filter((l) => l.includes("| event ledger="));
  assertEquals(events.length, expected, "each event exactly once");
  const stops = result.stdout.split("\n").filter((l) => l.startsWith("Stopping component:"));
  assertEquals(stops, [
    "Stopping component: consumer-app",
    "Stopping component: ttp-processor",
    "Stopping component: stellar-live-source-datalake",
  ]);
  // Judged by this run's mark only: another run of the example on the machine is not ours.
  assertEquals(processesMarkedBy(runId), [], "nothing this run started is left");
});

/** Live processes whose environment carries this run's process mark (`<run id>:<component>`). */
function processesMarkedBy(runId: string): number[] {
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid) || pid === Deno.pid) continue;
    try {
      const environ = Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0");
      if (environ.some((v) => v.startsWith(`FLOWCTL_PROCESS_MARK=${runId}:`)) && isAlive(pid)) {
        found.push(pid);
      }
    } catch {
      // gone while we looked
    }
  }
  return found;
}
