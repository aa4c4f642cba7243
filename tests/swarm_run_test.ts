/**
 * `flowctl run --orchestrator swarm` on a single-node private swarm (a private dockerd in its own
 * network namespace): the host's engine never joins or leaves a swarm.
 */
import * as v from "valibot";
import { DockerClient } from "../src/docker/docker_client.ts";
import { listServices } from "../src/docker/swarm_api.ts";
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { imageComponent, REQUIRE_DOCKER, TEST_IMAGE } from "./_docker.ts";
import {
  FlowctlProcess,
  pipelineYaml,
  ROOT,
  runArgs,
  runFlowctl,
  tempDir,
  waitFor,
  writeTemp,
} from "./_helpers.ts";
import { startPrivateEngine } from "./_private_engine.ts";
import { type PrivateSwarm, privateSwarmUnavailable, startSwarm } from "./_swarm.ts";

const UNAVAILABLE = privateSwarmUnavailable();
if (UNAVAILABLE && !REQUIRE_DOCKER) console.warn(`The swarm tests are skipped: ${UNAVAILABLE}`);

const STATE_DIR = Deno.env.get("FLOWCTL_STATE_DIR") ?? "/tmp/flowctl-state-swarm-tests";

/** A swarm-mode pipeline file under a fresh name. */
async function swarmPipeline(prefix: string, body: string) {
  const name = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  const temp = await tempDir(`flowctl-${prefix}-`);
  const dir = temp.path;
  const file = await writeTemp(
    "pipeline.yaml",
    pipelineYaml(name, `  driver: swarm\n${body}`),
    dir,
  );
  return {
    name,
    file,
    dir,
    args: runArgs(file, `${dir}/logs`),
    [Symbol.asyncDispose]: () => temp[Symbol.asyncDispose](),
  };
}

/** flowctl in the manager's network namespace, talking to its engine. */
function onManager(swarm: PrivateSwarm) {
  return {
    wrapper: swarm.manager.wrapper,
    env: {
      DOCKER_HOST: swarm.manager.engine.host,
      FLOWCTL_STATE_DIR: STATE_DIR,
      FLOWCTL_SWARM_PROBE_IMAGE: TEST_IMAGE,
    },
  };
}

const ObjectsSchema = v.array(v.looseObject({ Id: v.optional(v.string()) }));

/** Services, containers and networks of `pipeline` left in the swarm. */
async function leftInSwarm(swarm: PrivateSwarm, pipeline: string) {
  using docker = await DockerClient.connect(swarm.manager.engine.host);
  const filters = JSON.stringify({ label: [`dev.flowctl.pipeline=${pipeline}`] });
  return {
    services: (await listServices(docker, "dev.flowctl.pipeline", pipeline)).length,
    containers: (await docker.json(ObjectsSchema, "GET", "/containers/json", {
      query: { all: true, filters },
    })).length,
    networks: (await docker.json(ObjectsSchema, "GET", "/networks", { query: { filters } }))
      .length,
  };
}

const NOTHING = { services: 0, containers: 0, networks: 0 };

/** The parts of a service's spec the spec test reads. */
const ServiceSpecSchema = v.looseObject({
  Mode: v.looseObject({ Replicated: v.looseObject({ Replicas: v.number() }) }),
  TaskTemplate: v.looseObject({
    Resources: v.looseObject({ Limits: v.unknown(), Reservations: v.unknown() }),
    ContainerSpec: v.looseObject({
      Mounts: v.unknown(),
      Secrets: v.array(v.looseObject({ File: v.looseObject({ Name: v.string() }) })),
    }),
  }),
});

Deno.test({
  name: "swarm mode on a single-node private swarm",
  ignore: UNAVAILABLE !== undefined && !REQUIRE_DOCKER,
  async fn(t) {
    await using swarm = await startSwarm();

    await t.step(
      "starts services in order behind health gates, reaches the control plane, labels them, removes everything on Ctrl+C",
      async () => {
        await using p = await swarmPipeline(
          "sw",
          "  sources:\n" +
            imageComponent(
              "web",
              { HEALTH_PORT: 8000, LINES: 2 },
              "      health: { http: { path: /health, port: 8000 } }\n",
            ) +
            "  sinks:\n" +
            imageComponent(
              "sink",
              { CHECK_CONTROL_PLANE: 1, PRINT_ENV: "FLOWCTL_ENDPOINT COMPONENT_ID" },
              "      inputs: [web]\n",
            ),
        );
        await using flowctl = new FlowctlProcess([...p.args, "--output", "json"], onManager(swarm));
        await flowctl.waitForOutput('"event":"pipeline_started"', 60_000);
        await waitFor(
          async () =>
            (await Deno.readTextFile(`${p.dir}/logs/sink.log`).catch(() => ""))
              .includes("control plane reachable"),
          "the sink reaching the control plane",
          20_000,
        );
        using docker = await DockerClient.connect(swarm.manager.engine.host);
        const services = await listServices(docker, "com.docker.stack.namespace", p.name);
        assertEquals(services.map((s) => s.Spec.Name).sort(), [
          `${p.name}-sink`,
          `${p.name}-web`,
        ]);
        flowctl.kill("SIGINT");
        const result = await flowctl.result();
        assertEquals(result.code, 0, result.stderr);
        const events = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
        const order = events.filter((e) =>
          e.event === "component_starting" || e.event === "component_healthy"
        )
          .map((e) => `${e.event}:${e.component}`);
        assertEquals(order, [
          "component_starting:web",
          "component_healthy:web",
          "component_starting:sink",
          "component_healthy:sink",
        ]);
        const started = events.find((e) =>
          e.event === "component_started" && e.component === "web"
        );
        assertEquals(typeof started?.taskId, "string", JSON.stringify(started));
        const sinkLog = await Deno.readTextFile(`${p.dir}/logs/sink.log`);
        assertStringIncludes(sinkLog, `FLOWCTL_ENDPOINT=${swarm.manager.address}:`);
        assertStringIncludes(sinkLog, "COMPONENT_ID=sink");
        assertStringIncludes(await Deno.readTextFile(`${p.dir}/logs/web.log`), "web line 2");
        // Stopped in reverse order: the sink before its input.
        const stops = events.filter((e) => e.event === "component_stopped").map((e) => e.component);
        assertEquals(stops, ["sink", "web"]);
        assertEquals(await leftInSwarm(swarm, p.name), NOTHING);
      },
    );

    await t.step(
      "a task rejected for a missing image fails the start with the node's name, and rolls back",
      async () => {
        await using p = await swarmPipeline(
          "swmissing",
          "  sources:\n" +
            imageComponent(
              "web",
              { HEALTH_PORT: 8000 },
              "      health: { tcp: { port: 8000 } }\n",
            ) +
            "  sinks:\n    - id: ghost\n      image: flowctl-test/not-here:1\n      inputs: [web]\n",
        );
        const result = await runFlowctl(p.args, onManager(swarm));
        assertEquals(result.code, 1, result.stdout);
        assertStringIncludes(
          result.stderr,
          `Component "ghost": its task was rejected on node "`,
        );
        assertStringIncludes(result.stderr, "No such image: flowctl-test/not-here:1");
        assertStringIncludes(result.stderr, "must be present on every node");
        assertEquals(await leftInSwarm(swarm, p.name), NOTHING);
      },
    );

    await t.step(
      "--control-plane-address: components get it as FLOWCTL_ENDPOINT and reach the control plane there",
      async () => {
        const extra = swarm.manager.address.replace(/\.1$/, ".5");
        const add = await new Deno.Command("ip", {
          args: ["-n", swarm.manager.netns, "addr", "add", `${extra}/24`, "dev", "m0"],
        }).output();
        assertEquals(add.code, 0, new TextDecoder().decode(add.stderr));
        await using p = await swarmPipeline(
          "swaddr",
          "  sinks:\n" +
            imageComponent("sink", { CHECK_CONTROL_PLANE: 1, PRINT_ENV: "FLOWCTL_ENDPOINT" }),
        );
        await using flowctl = new FlowctlProcess(
          [...p.args, "--control-plane-address", extra],
          onManager(swarm),
        );
        await waitFor(
          async () =>
            (await Deno.readTextFile(`${p.dir}/logs/sink.log`).catch(() => ""))
              .includes("control plane reachable"),
          "the sink reaching the control plane",
          30_000,
        );
        flowctl.kill("SIGINT");
        const result = await flowctl.result();
        assertEquals(result.code, 0, result.stderr);
        assertStringIncludes(
          await Deno.readTextFile(`${p.dir}/logs/sink.log`),
          `FLOWCTL_ENDPOINT=${extra}:`,
        );
        assertEquals(await leftInSwarm(swarm, p.name), NOTHING);

        // An address that is not this machine's is refused in one line, before any service.
        const refused = await runFlowctl(
          [...p.args, "--control-plane-address", "192.0.2.77"],
          onManager(swarm),
        );
        assertEquals(refused.code, 2, refused.stdout);
        assertStringIncludes(
          refused.stderr,
          'Cannot start pipeline: the control plane cannot listen on "192.0.2.77" (--control-plane-address): ',
        );
        assertEquals(refused.stderr.trim().split("\n").length, 1, refused.stderr);
        assertEquals(await leftInSwarm(swarm, p.name), NOTHING);
      },
    );

    await t.step(
      "a component no node can take fails the start with the constraint; Ctrl+C while it waits stops at once",
      async () => {
        const body = "  sources:\n" +
          imageComponent(
            "pinned",
            {},
            '      placement: { constraints: ["node.labels.zone==nowhere"] }\n',
          );
        await using p = await swarmPipeline("swplace", body);
        const result = await runFlowctl(p.args, onManager(swarm));
        assertEquals(result.code, 1, result.stdout);
        assertStringIncludes(
          result.stderr,
          'Component "pinned" cannot be placed on any swarm node: no suitable node',
        );
        assertStringIncludes(result.stderr, "(placement constraints: node.labels.zone==nowhere)");
        assertEquals(await leftInSwarm(swarm, p.name), NOTHING);

        const flowctl = new FlowctlProcess(p.args, onManager(swarm));
        await flowctl.waitForOutput("Starting component: pinned", 30_000);
        flowctl.kill("SIGINT");
        const stopped = await flowctl.result();
        assertEquals(stopped.code, 0, stopped.stderr);
        assertEquals(stopped.stderr.includes("cannot be placed"), false, stopped.stderr);
        assertEquals(await leftInSwarm(swarm, p.name), NOTHING);
      },
    );

    await t.step("a crashing service is restarted by its policy until max_restarts", async () => {
      await using p = await swarmPipeline(
        "swcrash",
        "  sources:\n" +
          imageComponent(
            "crash",
            { EXIT_AFTER: 1, EXIT_CODE: 3 },
            "      restart: on-failure\n      max_restarts: 2\n",
          ),
      );
      const result = await runFlowctl(p.args, onManager(swarm));
      assertEquals(result.code, 1, result.stdout);
      assertEquals(
        result.stdout.split("\n").filter((l) => l.startsWith("Restarting component crash")).length,
        2,
        result.stdout,
      );
      assertStringIncludes(
        result.stderr,
        `Component "crash" exited with code 3 and was restarted 2 times already (max_restarts: 2)`,
      );
      // Each task's output reached the log: three runs, three exits.
      const log = await Deno.readTextFile(`${p.dir}/logs/crash.log`);
      assertEquals(log.split("\n").filter((l) => l === "exiting with 3").length, 3, log);
      assertEquals(await leftInSwarm(swarm, p.name), NOTHING);
    });

    await t.step("a pipeline whose sink finishes completes and removes everything", async () => {
      await using p = await swarmPipeline(
        "swdone",
        "  sources:\n" +
          imageComponent("src", { HEALTH_PORT: 8000 }, "      health: { tcp: { port: 8000 } }\n") +
          "  sinks:\n" +
          imageComponent("sink", { EXIT_AFTER: 1, LINES: 2 }, "      inputs: [src]\n"),
      );
      const result = await runFlowctl(p.args, onManager(swarm));
      assertEquals(result.code, 0, result.stderr);
      assertStringIncludes(result.stdout, "Component sink exited with code 0\n");
      assertStringIncludes(result.stdout, "All sinks finished; stopping pipeline\n");
      assertStringIncludes(result.stdout, "Pipeline completed successfully\n");
      assertStringIncludes(await Deno.readTextFile(`${p.dir}/logs/sink.log`), "sink line 2\n");
      assertEquals(await leftInSwarm(swarm, p.name), NOTHING);
    });

    await t.step(
      "args, replicas, resources, bind volumes and secrets reach the service; secrets are swarm secrets removed with the run",
      async () => {
        await using dataTemp = await tempDir("flowctl-swarm-data-");
        const data = dataTemp.path;
        const secretText = `s3cret-${crypto.randomUUID()}`;
        await Deno.writeTextFile(`${data}/token`, secretText);
        await using p = await swarmPipeline(
          "swspec",
          "  sources:\n" +
            imageComponent(
              "box",
              { PRINT_ENV: "TOKEN_PATH" },
              "      replicas: 2\n" +
                "      resources: { limits: { cpu: 500m, memory: 64Mi }, requests: { memory: 32Mi } }\n" +
                `      volumes: [{ host_path: ${data}, container_path: /data, readonly: true }]\n` +
                `      secrets: [{ name: token, host_path: ${data}/token, env: TOKEN_PATH }]\n`,
            ),
        );
        await using flowctl = new FlowctlProcess(p.args, onManager(swarm));
        let secretsDuringRun = 0;
        await flowctl.waitForOutput("Pipeline started successfully", 60_000);
        using docker = await DockerClient.connect(swarm.manager.engine.host);
        const [service] = await listServices(docker, "dev.flowctl.pipeline", p.name);
        const spec = v.parse(ServiceSpecSchema, service?.Spec);
        const container = spec.TaskTemplate.ContainerSpec;
        assertEquals(spec.Mode.Replicated.Replicas, 2);
        assertEquals(spec.TaskTemplate.Resources.Limits, {
          NanoCPUs: 500_000_000,
          MemoryBytes: 64 * 1024 * 1024,
        });
        assertEquals(spec.TaskTemplate.Resources.Reservations, { MemoryBytes: 32 * 1024 * 1024 });
        assertEquals(container.Mounts, [
          { Type: "bind", Source: data, Target: "/data", ReadOnly: true },
        ]);
        assertEquals(container.Secrets.map((s) => s.File.Name), ["/run/secrets/token"]);
        secretsDuringRun = (await docker.json(ObjectsSchema, "GET", "/secrets", {
          query: { filters: JSON.stringify({ label: [`dev.flowctl.pipeline=${p.name}`] }) },
        })).length;
        flowctl.kill("SIGINT");
        const result = await flowctl.result();
        assertEquals(result.code, 0, result.stderr);
        assertEquals(secretsDuringRun, 1);
        assertStringIncludes(result.stdout, "TOKEN_PATH=/run/secrets/token");
        assertEquals(
          result.stdout.includes(secretText),
          false,
          "the secret's content is never shown",
        );
        const secretsAfter = await docker.json(ObjectsSchema, "GET", "/secrets", {
          query: { filters: JSON.stringify({ label: [`dev.flowctl.pipeline=${p.name}`] }) },
        });
        assertEquals(secretsAfter.length, 0);
        assertEquals(await leftInSwarm(swarm, p.name), NOTHING);
        await Deno.remove(data, { recursive: true });
      },
    );

    await t.step("down removes the services of a flowctl killed with SIGKILL", async () => {
      await using p = await swarmPipeline(
        "swdown",
        "  sources:\n" + imageComponent("src", {}) +
          "  sinks:\n" + imageComponent("sink", {}, "      inputs: [src]\n"),
      );
      const flowctl = new FlowctlProcess(p.args, onManager(swarm));
      await flowctl.waitForOutput("Pipeline started successfully", 60_000);
      flowctl.kill("SIGKILL");
      await flowctl.result();
      assertEquals((await leftInSwarm(swarm, p.name)).services, 2);
      const down = await runFlowctl(["down", p.file], onManager(swarm));
      assertEquals(down.code, 0, down.stderr);
      assertStringIncludes(
        down.stdout,
        `Removed 2 service(s), 0 container(s) and 1 network(s) of ${p.name}`,
      );
      assertEquals(await leftInSwarm(swarm, p.name), NOTHING);
    });

    await t.step(
      "the example pipeline runs as services: data reaches the consumer, all registered, nothing left",
      async () => {
        const build = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", `${ROOT}tools/build_images.ts`],
          env: { DOCKER_HOST: swarm.manager.engine.host },
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
        await using dirTemp = await tempDir("flowctl-example-swarm-");
        const dir = dirTemp.path;
        await using flowctl = new FlowctlProcess(
          [
            ...runArgs(`${ROOT}examples/ttp-pipeline.yaml`, `${dir}/logs`),
            "--orchestrator",
            "swarm",
          ],
          onManager(swarm),
        );
        await flowctl.waitForOutput("Pipeline started successfully", 90_000);
        await waitFor(
          () =>
            flowctl.stdout.split("\n").filter((l) => l.includes("| event ledger=")).length >=
              expected,
          `${expected} events`,
          30_000,
        );
        for (const id of ["stellar-live-source-datalake", "ttp-processor", "consumer-app"]) {
          await flowctl.waitForOutput(`Component ${id} registered with the control plane`);
        }
        flowctl.kill("SIGINT");
        const result = await flowctl.result();
        assertEquals(result.code, 0, result.stderr);
        assertStringIncludes(
          result.stdout,
          "processor: reading ledgers from stellar-live-source-datalake:50051",
        );
        assertEquals(await leftInSwarm(swarm, "ttp-processing-pipeline"), NOTHING);
      },
    );
  },
});

Deno.test({
  name: "swarm mode: an engine that is no swarm manager is refused in one line",
  ignore: UNAVAILABLE !== undefined && !REQUIRE_DOCKER,
  async fn() {
    await using engine = await startPrivateEngine();
    await using p = await swarmPipeline("swnone", "  sources:\n" + imageComponent("src", {}));
    const result = await runFlowctl(p.args, {
      env: { DOCKER_HOST: engine.host, FLOWCTL_STATE_DIR: STATE_DIR },
    });
    assertEquals(result.code, 2, result.stdout);
    assertEquals(
      result.stderr.trim(),
      `Pipeline failed: Cannot start pipeline: the Docker engine at ${engine.host} is not in a swarm (state "inactive"): run "docker swarm init" on it first, or point DOCKER_HOST (or the Docker context) at a swarm manager`,
    );
  },
});

Deno.test({
  name:
    "swarm mode on a swarm advertised on 127.0.0.1: tasks reach the control plane on docker_gwbridge; a loopback --control-plane-address is refused",
  ignore: UNAVAILABLE !== undefined && !REQUIRE_DOCKER,
  async fn() {
    await using swarm = await startSwarm({ advertise: "127.0.0.1" });
    await using p = await swarmPipeline(
      "swloop",
      "  sinks:\n" +
        imageComponent("sink", { CHECK_CONTROL_PLANE: 1, PRINT_ENV: "FLOWCTL_ENDPOINT" }),
    );
    await using flowctl = new FlowctlProcess(p.args, onManager(swarm));
    await waitFor(
      async () =>
        (await Deno.readTextFile(`${p.dir}/logs/sink.log`).catch(() => ""))
          .includes("control plane reachable"),
      "the sink reaching the control plane",
      60_000,
    );
    flowctl.kill("SIGINT");
    const result = await flowctl.result();
    assertEquals(result.code, 0, result.stderr);
    using docker = await DockerClient.connect(swarm.manager.engine.host);
    const gateway = (await docker.json(
      v.looseObject({
        IPAM: v.looseObject({ Config: v.array(v.looseObject({ Gateway: v.string() })) }),
      }),
      "GET",
      "/networks/docker_gwbridge",
    )).IPAM.Config[0]?.Gateway;
    assertStringIncludes(
      await Deno.readTextFile(`${p.dir}/logs/sink.log`),
      `FLOWCTL_ENDPOINT=${gateway}:`,
    );
    const refused = await runFlowctl(
      [...p.args, "--control-plane-address", "127.0.0.1"],
      onManager(swarm),
    );
    assertEquals(refused.code, 2, refused.stdout);
    assertEquals(
      refused.stderr.trim(),
      "Pipeline failed: Cannot start pipeline: --control-plane-address 127.0.0.1 is a loopback address, which no swarm task reaches; pass --control-plane-address with an address of this machine that every swarm node reaches",
    );
    assertEquals(await leftInSwarm(swarm, p.name), NOTHING);
  },
});
