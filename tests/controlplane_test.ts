/** The embedded control plane against a stock @grpc/grpc-js client under Node, and curl. */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import {
  FlowctlProcess,
  pipelineYaml,
  processesWith,
  ROOT,
  runArgs,
  runFlowctl,
  waitFor,
  writeTemp,
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

async function startPipeline(body: string, extra: string[] = []) {
  const dir = await Deno.makeTempDir({ prefix: "flowctl-cp-" });
  const name = `cp-${crypto.randomUUID().slice(0, 8)}`;
  const file = await writeTemp("pipeline.yaml", pipelineYaml(name, body), dir);
  // These tests call as outsiders (the test process), so the control plane is opened on purpose;
  // identity is tested in controlplane_security_test.ts.
  const flowctl = new FlowctlProcess(
    runArgs(file, `${dir}/logs`, "--output", "json", "--open-control-plane", ...extra),
  );
  await flowctl.waitForOutput('"event":"pipeline_starting"');
  const starting = JSON.parse(flowctl.stdout.split("\n")[0] ?? "{}");
  return { flowctl, file, endpoint: starting.controlPlane as string };
}

const SLEEPER = `[sleep, "1000"]`;

Deno.test("control plane: registration gates readiness, and every RPC of both services answers grpc-js", async () => {
  const { flowctl, file, endpoint } = await startPipeline(
    `  sources:\n    - id: src\n      command: ${SLEEPER}\n      health: { registered: true }\n` +
      `  sinks:\n    - id: old-sink\n      inputs: [src]\n      command: ${SLEEPER}\n      health: { registered: true }\n` +
      `      ports: [{ name: health, containerPort: 18099 }]\n`,
  );
  try {
    await new Promise((r) => setTimeout(r, 300));
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
    const statusResult = await runFlowctl(["status", file, "--output", "json"]);
    assertEquals(statusResult.code, 0, statusResult.stderr);
    const pipeline = JSON.parse(statusResult.stdout).pipelines[0];
    const src = pipeline.components.find((c: Json) => c.id === "src");
    assertEquals([src.registered, src.state], [true, "healthy"]);
    assert(src.lastHeartbeatAgoMs < 10_000);
  } finally {
    flowctl.kill("SIGINT");
    assertEquals((await flowctl.result()).code, 0);
  }
});

Deno.test("control plane: staleness after three missed heartbeats, recovery when they resume", async () => {
  const { flowctl, endpoint } = await startPipeline(
    `  sources:\n    - id: src\n      command: ${SLEEPER}\n`,
    ["--heartbeat-interval", "100ms"],
  );
  try {
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
  } finally {
    flowctl.kill("SIGINT");
    await flowctl.result();
  }
});

Deno.test("control plane: Connect JSON over curl", async () => {
  const { flowctl, endpoint } = await startPipeline(
    `  sources:\n    - id: src\n      command: ${SLEEPER}\n`,
  );
  try {
    await flowctl.waitForOutput('"event":"pipeline_started"');
    const curl = async (method: string, body: unknown) => {
      const { stdout } = await new Deno.Command("curl", {
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
      }).output();
      return JSON.parse(new TextDecoder().decode(stdout));
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
  } finally {
    flowctl.kill("SIGINT");
    await flowctl.result();
  }
});

Deno.test("control plane: a port in use is one clear error before anything starts", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    const file = await writeTemp(
      "pipeline.yaml",
      pipelineYaml("busy-cp", `  sources:\n    - id: src\n      command: ${SLEEPER}\n`),
    );
    const result = await runFlowctl([
      "run",
      file,
      "--control-plane-port",
      String(port),
      "--log-dir",
      `${file}.logs`,
    ]);
    assertEquals(result.code, 1);
    assertStringIncludes(
      result.stderr,
      `flowctl: Cannot start the control plane: port ${port} is already in use`,
    );
    assertStringIncludes(result.stderr, "--control-plane-port 0");
    assertEquals(result.stdout.includes("Starting component"), false);
  } finally {
    listener.close();
  }
});

Deno.test("the example pipeline runs end to end: every datalake event reaches the consumer, all registered", async () => {
  let expected = 0;
  for await (const entry of Deno.readDir(`${ROOT}examples/ttp/datalake`)) {
    const ledger = JSON.parse(
      await Deno.readTextFile(`${ROOT}examples/ttp/datalake/${entry.name}`),
    );
    for (const tx of ledger.transactions) expected += tx.payments.length;
  }
  const dir = await Deno.makeTempDir({ prefix: "flowctl-example-" });
  const flowctl = new FlowctlProcess([
    "run",
    `${ROOT}examples/ttp-pipeline.yaml`,
    "--control-plane-port",
    "0",
    "--log-dir",
    `${dir}/logs`,
    "--heartbeat-interval",
    "500ms",
  ], { env: { CONSUMER_HEARTBEAT_MS: "500" } }); // the consumer's interval is in ms, set in the file
  try {
    await flowctl.waitForOutput("Pipeline started successfully", 60_000);
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
      ]);
      components = status.code === 0 ? JSON.parse(status.stdout).pipelines[0].components : [];
      return components.length === 3 &&
        components.every((c: Json) => c.registered && c.health === "healthy");
    }, "all three components registered and healthy in flowctl status");
    assertEquals(components.map((c: Json) => c.id), [
      "stellar-live-source-datalake",
      "ttp-processor",
      "consumer-app",
    ]);
  } finally {
    flowctl.kill("SIGINT");
    await flowctl.result();
  }
  const result = await flowctl.result();
  assertEquals(result.code, 0, result.stderr);
  const events = result.stdout.split("\n").filter((l) => l.includes("| event ledger="));
  assertEquals(events.length, expected, "each event exactly once");
  const stops = result.stdout.split("\n").filter((l) => l.startsWith("Stopping component:"));
  assertEquals(stops, [
    "Stopping component: consumer-app",
    "Stopping component: ttp-processor",
    "Stopping component: stellar-live-source-datalake",
  ]);
  for (
    const token of ["components/source/main.ts", "components/processor/main.ts", "index.js 1 0"]
  ) {
    assertEquals(processesWith(token), [], `nothing of ${token} is left`);
  }
});
