/** `flowctl run --orchestrator container` against the real Docker engine. */
import { ExitCode } from "../src/cli/exit_code.ts";
import { DockerClient } from "../src/docker/docker_client.ts";
import { LABEL_PIPELINE } from "../src/docker/labels.ts";
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { buildTestImage, leftovers, SKIP_DOCKER, TEST_IMAGE } from "./_docker.ts";
import {
  type ComponentExtra,
  containerComponent,
  FlowctlProcess,
  freePort,
  ROOT,
  runFlowctl,
  tempDir,
  testPipeline,
  type TestPipelineSpec,
  uniqueName,
  waitFor,
} from "./_helpers.ts";

if (!SKIP_DOCKER) await buildTestImage();

/** A container-mode pipeline under a fresh name. */
const pipeline = (spec: Omit<TestPipelineSpec, "name" | "driver">) =>
  testPipeline({ name: uniqueName("ct"), driver: "container", ...spec });

/** A component of the test image (tests/fixtures/image/run.sh reads `env`). */
const image = (id: string, env: Record<string, string | number> = {}, extra: ComponentExtra = {}) =>
  containerComponent(id, TEST_IMAGE, env, extra);

async function assertNothingLeft(name: string): Promise<void> {
  assertEquals(await leftovers(name), { containers: [], networks: [] });
}

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, ignore: SKIP_DOCKER, fn });

test("container mode: starts in order with the injected environment, reaches the control plane, cleans up on Ctrl+C", async () => {
  const port = freePort();
  await using p = await pipeline({
    sources: [
      image("src", { HEALTH_PORT: 8080, LINES: 2 }, {
        ports: [{ name: "health", containerPort: 8080, hostPort: port }],
        health: { http: { path: "/health", port: 8080 } },
      }),
    ],
    sinks: [
      image("sink", {
        PRINT_ENV: "COMPONENT_ID FLOWCTL_PIPELINE SRC HOME_ON_HOST",
        SRC: "${components.src.endpoint}",
        CHECK_CONTROL_PLANE: 1,
      }, { inputs: ["src"], ports: [{ name: "grpc", containerPort: 9000 }] }),
    ],
  });
  await using flowctl = new FlowctlProcess(p.args, { env: { HOME_ON_HOST: "must-not-leak" } });
  await flowctl.waitForOutput("sink ready");
  await flowctl.waitForOutput("Pipeline started successfully");
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, ExitCode.ok, result.stderr);
  assertStringIncludes(result.stdout, "src  | src line 1\nsrc  | src line 2");
  assertStringIncludes(result.stdout, "sink | COMPONENT_ID=sink");
  assertStringIncludes(result.stdout, `sink | FLOWCTL_PIPELINE=${p.name}`);
  assertStringIncludes(result.stdout, "sink | SRC=src:8080");
  assertStringIncludes(result.stdout, "sink | HOME_ON_HOST=\n");
  assertStringIncludes(result.stdout, "sink | control plane reachable");
  const lines = result.stdout.split("\n").filter((l) => l && !l.includes(" | "));
  assertEquals(lines.slice(lines.indexOf("Received shutdown signal")), [
    "Received shutdown signal",
    "Stopping component: sink",
    "Component sink stopped",
    "Stopping component: src",
    "Component src stopped",
    "Pipeline stopped successfully",
  ]);
  assertStringIncludes(await Deno.readTextFile(`${p.logDir}/src.log`), "src line 2");
  await assertNothingLeft(p.name);
});

test("container mode: a startup failure stops what started and leaves nothing", async () => {
  await using p = await pipeline({
    sources: [image("src")],
    sinks: [
      image("broken", { LINES: 2, EXIT_AFTER: 0, EXIT_CODE: 4 }, {
        inputs: ["src"],
        health: { tcp: { port: 8080 } },
      }),
    ],
  });
  const result = await runFlowctl(p.args);
  assertEquals(result.code, ExitCode.failure, result.stdout + result.stderr);
  assertStringIncludes(
    result.stderr,
    'Pipeline failed: Component "broken" exited with code 4 during startup',
  );
  assertStringIncludes(result.stderr, "broken line 2");
  assertStringIncludes(result.stdout, "Stopping component: src");
  await assertNothingLeft(p.name);
});

test("container mode: a crashing container is restarted per its policy, told its attempt (FLOWCTL_ATTEMPT), then the pipeline fails cleanly", async () => {
  await using p = await pipeline({
    sources: [
      image("crashy", { EXIT_AFTER: 0, EXIT_CODE: 2, PRINT_ENV: "FLOWCTL_ATTEMPT" }, {
        restart: "on-failure",
        max_restarts: 1,
      }),
    ],
  });
  const result = await runFlowctl(p.args);
  assertEquals(result.code, ExitCode.failure, result.stderr);
  assertStringIncludes(result.stdout, "Restarting component crashy in 1s (restart 1)");
  assertStringIncludes(result.stdout, "Starting component: crashy (attempt 2)");
  // The environment inside each container: the restart runs in a container made for attempt 2.
  const attempts = result.stdout.split("\n").filter((l) =>
    l.startsWith("crashy | FLOWCTL_ATTEMPT")
  );
  assertEquals(attempts, ["crashy | FLOWCTL_ATTEMPT=1", "crashy | FLOWCTL_ATTEMPT=2"]);
  assertStringIncludes(
    result.stderr,
    'Component "crashy" exited with code 2 and was restarted 1 time already (max_restarts: 1)',
  );
  await assertNothingLeft(p.name);
});

test("container mode: a missing image whose pull fails, and a busy host port, are reported before starting", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  await using p = await pipeline({
    sources: [
      { id: "ghost", image: "flowctl-test/does-not-exist:1" },
      image("web", {}, { ports: [{ containerPort: 80, hostPort: port }] }),
    ],
  });
  const result = await runFlowctl(p.args);
  assertEquals(result.code, ExitCode.failure);
  assertStringIncludes(
    result.stderr,
    'component "ghost": image "flowctl-test/does-not-exist:1" not found locally and pull failed: ',
  );
  assertStringIncludes(
    result.stderr,
    `component "web": port ${port} on 127.0.0.1 is already in use`,
  );
  assertEquals(result.stdout.includes("Starting component"), false);
  await assertNothingLeft(p.name);
});

test("container mode: an unreachable engine is one clear error", async () => {
  await using p = await pipeline({ sources: [image("src")] });
  const result = await runFlowctl(p.args, {
    env: { DOCKER_HOST: "unix:///tmp/flowctl-no-such-engine.sock" },
  });
  assertEquals(result.code, ExitCode.failure);
  assertStringIncludes(
    result.stderr,
    "Cannot reach the Docker engine at unix:///tmp/flowctl-no-such-engine.sock",
  );
  assertStringIncludes(result.stderr, "is dockerd running?");
});

test("container mode: leftovers of our own are removed, a foreign container holding the name is an error", async () => {
  await using p = await pipeline({ sources: [image("src")] });
  using docker = await DockerClient.connect();
  const ours = await docker.createContainer(`${p.name}-src`, {
    Image: TEST_IMAGE,
    Labels: { [LABEL_PIPELINE]: p.name },
  });
  await using flowctl = new FlowctlProcess(p.args);
  await flowctl.waitForOutput("Pipeline started successfully");
  flowctl.kill("SIGINT");
  const first = await flowctl.result();
  assertEquals(first.code, ExitCode.ok, first.stderr);
  assertStringIncludes(
    first.stdout,
    `Removed 1 container(s) and 0 network(s) left by an earlier run of ${p.name}`,
  );
  assertEquals(await docker.inspectContainer(ours), undefined);

  const foreign = await docker.createContainer(`${p.name}-src`, { Image: TEST_IMAGE });
  {
    await using cleanup = new AsyncDisposableStack();
    cleanup.defer(() => docker.removeContainer(foreign));
    const second = await runFlowctl(p.args);
    assertEquals(second.code, ExitCode.failure);
    assertStringIncludes(
      second.stderr,
      `a container named "${p.name}-src" already exists and was not created by flowctl`,
    );
  }
  await assertNothingLeft(p.name);
});

test("container mode: the example runs container to container, all registered, nothing left", async () => {
  const build = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}tools/build_images.ts`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(build.code, 0, new TextDecoder().decode(build.stderr));
  let expected = 0;
  for await (const entry of Deno.readDir(`${ROOT}examples/ttp/datalake`)) {
    const ledger = JSON.parse(
      await Deno.readTextFile(`${ROOT}examples/ttp/datalake/${entry.name}`),
    );
    for (const tx of ledger.transactions) expected += tx.payments.length;
  }
  await using logs = await tempDir("flowctl-example-container-");
  await using flowctl = new FlowctlProcess([
    "run",
    `${ROOT}examples/ttp-pipeline.yaml`,
    "--orchestrator",
    "container",
    "--control-plane-port",
    "0",
    "--log-dir",
    logs.path,
  ]);
  await flowctl.waitForOutput("Pipeline started successfully", 60_000);
  await waitFor(
    () =>
      flowctl.stdout.split("\n").filter((l) => l.includes("| event ledger=")).length >= expected,
    `${expected} events`,
    30_000,
  );
  for (const id of ["stellar-live-source-datalake", "ttp-processor", "consumer-app"]) {
    await flowctl.waitForOutput(`Component ${id} registered with the control plane`);
  }
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, ExitCode.ok, result.stderr);
  assertStringIncludes(
    result.stdout,
    "ttp-processor                | processor: reading ledgers from stellar-live-source-datalake:50051",
  );
  assertEquals(
    result.stdout.split("\n").filter((l) => l.includes("| event ledger=")).length,
    expected,
  );
  await assertNothingLeft("ttp-processing-pipeline");
});
