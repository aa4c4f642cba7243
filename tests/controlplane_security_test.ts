/**
 * The control plane against callers that are not who they say: identity bound to the caller's
 * process tree, limits, escaped wire strings, standard gRPC health and reflection, one warning
 * for a heartbeat flood. Clients are stock @grpc/grpc-js under Node, as components use.
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ConnectError } from "@connectrpc/connect";
import { ControlPlaneService } from "../src/controlplane/gen/flowctl/v1/control_plane_pb.ts";
import { ExitCode } from "../src/cli/exit_code.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { buildTestImage, leftovers, SKIP_DOCKER, TEST_IMAGE } from "./_docker.ts";
import {
  type ComponentExtra,
  containerComponent,
  FlowctlProcess,
  freePort,
  ROOT,
  runFlowctl,
  type TestComponent,
  testPipeline,
  type TestPipelinePaths,
  type TestPipelineSpec,
  uniqueName,
  waitFor,
} from "./_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const PERMISSION_DENIED = 7;
const RESOURCE_EXHAUSTED = 8;
const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;
const CLIENT = `${ROOT}tests/interop/client.cjs`;

async function node(script: string, endpoint: string, steps: unknown[]): Promise<Json[]> {
  const { code, stdout, stderr } = await new Deno.Command("node", {
    args: [`${ROOT}tests/interop/${script}`, endpoint, JSON.stringify(steps)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

const grpcJs = (endpoint: string, steps: unknown[]) => node("client.cjs", endpoint, steps);

/** A component that runs the grpc-js client with `steps` (from a child of its shell), then idles. */
function clientComponent(
  id: string,
  steps: unknown[],
  out: string,
  extra: ComponentExtra = {},
): TestComponent {
  return {
    id,
    command: [
      "sh",
      "-c",
      'node "$$CLIENT" "$$FLOWCTL_ENDPOINT" "$$STEPS" > "$$OUT"; exec sleep 1000',
    ],
    env: { CLIENT, OUT: out, STEPS: JSON.stringify(steps) },
    ...extra,
  };
}

type PipelineSpec = Omit<TestPipelineSpec, "name">;

/**
 * Starts `flowctl run --output json` (and `extra`) of a pipeline under a fresh name, whose
 * components may write into its folder; `await using` stops flowctl and removes the folder.
 */
async function startPipeline(
  spec: PipelineSpec | ((paths: TestPipelinePaths) => PipelineSpec),
  extra: string[] = [],
) {
  await using stack = new AsyncDisposableStack();
  const p = stack.use(
    await testPipeline((paths) => ({
      name: uniqueName("cpsec"),
      ...(typeof spec === "function" ? spec(paths) : spec),
    })),
  );
  const flowctl = stack.use(
    new FlowctlProcess([...p.args, "--output", "json", ...extra], { env: p.env }),
  );
  await flowctl.waitForOutput('"event":"pipeline_starting"');
  const starting = JSON.parse(flowctl.stdout.split("\n")[0] ?? "{}");
  const owned = stack.move();
  return {
    flowctl,
    file: p.file,
    dir: p.dir,
    env: p.env,
    endpoint: starting.controlPlane as string,
    [Symbol.asyncDispose]: () => owned.disposeAsync(),
  };
}

/** What a client component printed, once it has finished its steps. */
async function clientResults(path: string): Promise<Json[]> {
  let results: Json[] = [];
  await waitFor(async () => {
    try {
      results = JSON.parse(await Deno.readTextFile(path));
      return true;
    } catch {
      return false;
    }
  }, `results in ${path}`);
  return results;
}

/** A component that idles. */
const SLEEPER: TestComponent = { id: "src", command: ["sleep", "1000"] };

function notices(stdout: string): string[] {
  return stdout.split("\n").filter((l) => l.includes('"event":"notice"')).map((l) =>
    JSON.parse(l).message
  );
}

Deno.test("control plane identity: only a component's own processes register as it or change its record", async () => {
  const componentSteps = [
    {
      service: "v1",
      method: "RegisterComponent",
      request: {
        component_id: "comp",
        component: { id: "comp", description: "reads ledgers", version: "1.2.3" },
      },
    },
    { service: "v1", method: "Heartbeat", request: { service_id: "comp" } },
    // Another declared component's name is not this process's to take.
    { service: "v1", method: "RegisterComponent", request: { component_id: "consumer" } },
  ];
  // As the upstream Node consumer does: its own random id and a health port nobody declared.
  const consumerSteps = [
    {
      service: "legacy",
      method: "Register",
      request: {
        service_id: "consumer-5f0c2a61",
        service_type: "SERVICE_TYPE_SINK",
        health_endpoint: "http://localhost:8093/health",
      },
    },
    { service: "legacy", method: "Heartbeat", request: { service_id: "consumer-5f0c2a61" } },
  ];
  await using run = await startPipeline(({ dir }) => ({
    sources: [
      clientComponent("comp", componentSteps, `${dir}/comp.json`, {
        health: { registered: true },
      }),
    ],
    sinks: [
      clientComponent("consumer", consumerSteps, `${dir}/consumer.json`, {
        inputs: ["comp"],
        health: { registered: true },
      }),
    ],
  }));
  const { flowctl, file, endpoint, dir } = run;
  await flowctl.waitForOutput('"event":"pipeline_started"');
  const [registered, beat, impersonation] = await clientResults(`${dir}/comp.json`);
  assertEquals([registered.ok, registered.response.service_id], [true, "comp"]);
  assertEquals(beat.ok, true);
  assertEquals([impersonation.ok, impersonation.code], [false, PERMISSION_DENIED]);
  assertStringIncludes(impersonation.details, 'cannot register as component "consumer"');
  const [consumerAck, consumerBeat] = await clientResults(`${dir}/consumer.json`);
  assertEquals(
    consumerAck.response.service_id,
    "consumer",
    "matched by its process, not its port",
  );
  assertEquals(consumerBeat.ok, true, "heartbeats under its own id are accepted");
  assertStringIncludes(
    flowctl.stdout,
    '"component":"consumer","via":"flowctl, matched by peer identity"',
  );

  // The test process is no component: it may read, but not register, beat or unregister.
  const outsider = await grpcJs(endpoint, [
    { service: "v1", method: "RegisterComponent", request: { component_id: "comp" } },
    {
      service: "legacy",
      method: "Register",
      request: { health_endpoint: "http://localhost:8093/health" },
    },
    { service: "v1", method: "Heartbeat", request: { service_id: "comp" } },
    { service: "legacy", method: "Heartbeat", request: { service_id: "consumer" } },
    { service: "v1", method: "UnregisterComponent", request: { service_id: "comp" } },
    { service: "v1", method: "UnregisterComponent", request: { service_id: "consumer" } },
    { service: "v1", method: "ListComponents", request: { include_unhealthy: true } },
  ]);
  for (const denied of outsider.slice(0, 6)) {
    assertEquals([denied.ok, denied.code], [false, PERMISSION_DENIED], JSON.stringify(denied));
  }
  assertStringIncludes(outsider[0].details, "is no component of this pipeline");
  const list = outsider[6];
  const comp = list.response.components.find((c: Json) => c.component.id === "comp");
  assertEquals([comp.component.description, comp.component.version], [
    "reads ledgers",
    "1.2.3",
  ]);
  const status = await runFlowctl(["status", file, "--output", "json"], { env: run.env });
  assertEquals(status.code, ExitCode.ok, status.stderr);
  const components = JSON.parse(status.stdout).pipelines[0].components;
  assertEquals(components.map((c: Json) => [c.id, c.registered]), [
    ["comp", true],
    ["consumer", true],
  ]);
  flowctl.kill("SIGINT");
  assertEquals((await flowctl.result()).code, ExitCode.ok);
});

Deno.test("control plane: a component heartbeating far faster than its interval gets one warning", async () => {
  const beats = Array.from({ length: 40 }, () => [
    { service: "legacy", method: "Heartbeat", request: { service_id: "consumer-77" } },
    { sleep: 10 },
  ]).flat();
  await using run = await startPipeline(({ dir }) => ({
    sinks: [
      clientComponent("fast", [
        { service: "legacy", method: "Register", request: { service_id: "consumer-77" } },
        ...beats,
      ], `${dir}/fast.json`),
    ],
  }));
  const { flowctl, dir } = run;
  const results = await clientResults(`${dir}/fast.json`);
  assert(results.every((r: Json) => r.ok), JSON.stringify(results));
  const warnings = notices(flowctl.stdout).filter((m) => m.includes("heartbeats far faster"));
  assertEquals(warnings.length, 1, flowctl.stdout);
  assertStringIncludes(warnings[0]!, "component fast");
  assertStringIncludes(warnings[0]!, "set FLOWCTL_HEARTBEAT_INTERVAL in its env explicitly");
  flowctl.kill("SIGINT");
  assertEquals((await flowctl.result()).code, ExitCode.ok);
});

Deno.test("control plane: unknown methods answer UNIMPLEMENTED; health and reflection serve grpc-js", async () => {
  await using run = await startPipeline({ sources: [SLEEPER] });
  const { flowctl, endpoint } = run;
  const [unknownMethod, unknownService, server, service, missing, watched, v1, v1alpha] =
    await node("standard_client.cjs", endpoint, [
      { unknown: "/flowctl.v1.ControlPlaneService/Nope" },
      { unknown: "/nope.Service/Call" },
      { check: "" },
      { check: "flowctl.v1.ControlPlaneService" },
      { check: "nope.Service" },
      { watch: "" },
      {
        reflect: "v1",
        requests: [
          { list_services: "" },
          { file_containing_symbol: "flowctl.v1.ControlPlaneService" },
          { file_containing_symbol: "nope.Thing" },
        ],
      },
      {
        reflect: "v1alpha",
        requests: [
          { list_services: "" },
          { file_containing_symbol: "flowctl.ControlPlane.Register" },
          { file_by_filename: "grpc/health/v1/health.proto" },
        ],
      },
    ]);
  assertEquals([unknownMethod.ok, unknownMethod.code], [false, UNIMPLEMENTED]);
  // grpc-js maps a 404 to UNIMPLEMENTED too; other clients need the status on the wire.
  const { stdout } = await new Deno.Command("curl", {
    args: [
      "-sS",
      "-i",
      "--http2-prior-knowledge",
      "-H",
      "content-type: application/grpc",
      "-H",
      "te: trailers",
      "--data-binary",
      "",
      `http://${endpoint}/nope.Service/Call`,
    ],
    stdout: "piped",
  }).output();
  const head = new TextDecoder().decode(stdout);
  assert(head.startsWith("HTTP/2 200"), head);
  assertStringIncludes(head, "grpc-status: 12");
  assertEquals([unknownService.ok, unknownService.code], [false, UNIMPLEMENTED]);
  assertEquals(server.response.status, "SERVING");
  assertEquals(service.response.status, "SERVING");
  assertEquals([missing.ok, missing.code], [false, NOT_FOUND]);
  assertEquals(watched.response.status, "SERVING");

  const services = [
    "flowctl.ControlPlane",
    "flowctl.v1.ControlPlaneService",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
  ];
  for (const reflection of [v1, v1alpha]) {
    assertEquals(
      reflection.responses[0].list_services_response.service.map((s: Json) => s.name),
      services,
    );
  }
  const v1Files = v1.responses[1].file_descriptor_response.file_descriptor_proto as string[];
  assert(v1Files[0]!.includes("flowctl/v1/control_plane.proto"), v1Files[0]);
  assert(v1Files.some((f) => f.includes("google/protobuf/empty.proto")), "with its imports");
  assertEquals(v1.responses[2].error_response.error_code, NOT_FOUND);
  const legacyFile = v1alpha.responses[1].file_descriptor_response.file_descriptor_proto[0];
  assertStringIncludes(legacyFile, "flowctl/control_plane.proto");
  const healthFile = v1alpha.responses[2].file_descriptor_response.file_descriptor_proto[0];
  assertStringIncludes(healthFile, "grpc.health.v1");
  flowctl.kill("SIGINT");
  assertEquals((await flowctl.result()).code, ExitCode.ok);
});

Deno.test("control plane limits: big messages, metadata and unmatched registrations are refused; stale strangers dropped", async () => {
  await using run = await startPipeline({ sources: [SLEEPER] }, [
    "--open-control-plane",
    "--heartbeat-interval",
    // Long enough that no stranger goes stale while the 40 register on a busy machine.
    "2s",
  ]);
  const { flowctl, endpoint } = run;
  const client = createClient(
    ControlPlaneService,
    createGrpcTransport({ baseUrl: `http://${endpoint}` }),
  );
  const codeOf = (promise: Promise<unknown>) =>
    promise.then(() => 0, (error) => ConnectError.from(error).code as number);
  await flowctl.waitForOutput('"event":"pipeline_started"');
  const big = { component: { metadata: { blob: "x".repeat(5 * 1024 * 1024) } } };
  const refused = await client.registerComponent(big).then(
    () => undefined,
    (error) => ConnectError.from(error),
  );
  assertEquals(refused?.code as number | undefined, RESOURCE_EXHAUSTED);
  assertStringIncludes(refused?.rawMessage ?? "", "1048576", "refused by size, before parsing");
  const wide = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, "v"]));
  assertEquals(
    await codeOf(client.registerComponent({ component: { id: "w", metadata: wide } })),
    RESOURCE_EXHAUSTED,
  );
  const codes: number[] = [];
  for (let i = 0; i < 40; i++) {
    codes.push(await codeOf(client.registerComponent({ component: { id: `stranger-${i}` } })));
  }
  assertEquals(codes.filter((c) => c === 0).length, 32);
  assertEquals(codes.filter((c) => c === RESOURCE_EXHAUSTED).length, 8);
  // Listings stay within a stock client's 4 MiB limit.
  const [listed] = await grpcJs(endpoint, [
    { service: "v1", method: "ListComponents", request: { include_unhealthy: true } },
  ]);
  assertEquals([listed.ok, listed.response.components.length], [true, 32]);
  // Without heartbeats the strangers go after three intervals, and room is free again.
  await waitFor(
    () => flowctl.stdout.includes("Dropped the registration of (unknown service"),
    "strangers dropped",
  );
  await waitFor(async () => {
    const list = await client.listComponents({ includeUnhealthy: true });
    return list.components.length === 0;
  }, "an empty registry");
  assertEquals(await codeOf(client.registerComponent({ component: { id: "late" } })), 0);
  flowctl.kill("SIGINT");
  assertEquals((await flowctl.result()).code, ExitCode.ok);
});

Deno.test("control plane: wire strings are escaped; one metrics rule; an unmatched registration says why", async () => {
  // Text output this time: that is where a forged line would show.
  await using p = await testPipeline({ name: "cpsec-text", sources: [SLEEPER] });
  const port = String(freePort());
  await using text = new FlowctlProcess(
    [...p.args, "--open-control-plane", "--control-plane-port", port],
    { env: p.env },
  );
  const endpoint = `127.0.0.1:${port}`;
  await text.waitForOutput("Pipeline started successfully");
  const forged = "evil\u001b[2J\nComponent ghost health check passed";
  const results = await grpcJs(endpoint, [
    { service: "legacy", method: "Register", request: { service_id: forged } },
    {
      service: "legacy",
      method: "Register",
      request: { service_id: "consumer-1", health_endpoint: "http://localhost:8093/health" },
    },
    { service: "legacy", method: "Register", request: { component_id: "src" } },
    {
      service: "legacy",
      method: "Heartbeat",
      request: { service_id: "src", metrics: { good: 1.5, bad: "NaN", inf: "Infinity" } },
    },
    { service: "v1", method: "GetComponentStatus", request: { service_id: "src" } },
    {
      service: "v1",
      method: "Heartbeat",
      request: { service_id: "src", metrics: { x: "NaN", y: "2" } },
    },
    { service: "v1", method: "GetComponentStatus", request: { service_id: "src" } },
    { service: "legacy", method: "GetServiceStatus", request: { service_id: "src" } },
  ]);
  assert(results.every((r: Json) => r.ok), JSON.stringify(results));
  const [, , , , legacyBeat, , v1Beat, legacyView] = results;
  assertEquals(legacyBeat.response.metrics, { good: "1.5" });
  assertEquals(v1Beat.response.metrics, { y: "2" });
  assertEquals(legacyView.response.metrics, { y: 2 });

  await text.waitForOutput("consumer-1");
  await text.waitForOutput("evil");
  assert(!text.stdout.includes("\u001b"), "no escape character reaches the console");
  assert(
    !text.stdout.split("\n").includes("Component ghost health check passed"),
    "no forged lifecycle line",
  );
  assertStringIncludes(text.stdout, "evil\\u001b[2J\\nComponent ghost");
  const why = text.stdout.split("\n").find((l) => l.includes('"consumer-1"'));
  assertStringIncludes(why ?? "", "matches no pipeline component");
  assertStringIncludes(why ?? "", "port 8093, which is not a health port of any component");
  text.kill("SIGINT");
  assertEquals((await text.result()).code, ExitCode.ok);
});

Deno.test({
  name:
    "control plane identity, container mode: a caller that is not the component's container is refused",
  ignore: SKIP_DOCKER,
  fn: async () => {
    await buildTestImage();
    await using p = await testPipeline({
      name: uniqueName("cpsec"),
      driver: "container",
      sources: [containerComponent("src", TEST_IMAGE)],
    });
    await using flowctl = new FlowctlProcess([...p.args, "--output", "json"], { env: p.env });
    await flowctl.waitForOutput('"event":"pipeline_started"', 60_000);
    const starting = JSON.parse(flowctl.stdout.split("\n")[0] ?? "{}");
    const [register, beat] = await grpcJs(starting.controlPlane, [
      { service: "v1", method: "RegisterComponent", request: { component_id: "src" } },
      { service: "v1", method: "Heartbeat", request: { service_id: "src" } },
    ]);
    assertEquals([register.ok, register.code], [false, PERMISSION_DENIED]);
    assertEquals([beat.ok, beat.code], [false, PERMISSION_DENIED]);
    flowctl.kill("SIGINT");
    assertEquals((await flowctl.result()).code, ExitCode.ok);
    assertEquals(await leftovers(p.name), { containers: [], networks: [] });
  },
});
