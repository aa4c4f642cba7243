/**
 * A pipeline across two swarm nodes: a manager and a worker, each a private dockerd in a network
 * namespace of its own, linked by a veth pair. The example's source is placed on the worker by a
 * constraint; the processor on the manager reads it over the overlay network (gRPC across
 * nodes), its health gate is probed on the worker's address, and it registers with the control
 * plane from the worker.
 */
import * as v from "valibot";
import { DockerClient } from "../src/docker/docker_client.ts";
import { listServices } from "../src/docker/swarm_api.ts";
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { imageComponent, REQUIRE_DOCKER } from "./_docker.ts";
import {
  FlowctlProcess,
  pipelineYaml,
  ROOT,
  runArgs,
  runFlowctl,
  tempDir,
  waitFor,
} from "./_helpers.ts";
import { copyImage, privateSwarmUnavailable, startSwarm } from "./_swarm.ts";

const UNAVAILABLE = privateSwarmUnavailable();
if (UNAVAILABLE && !REQUIRE_DOCKER) {
  console.warn(`The multi-node swarm test is skipped: ${UNAVAILABLE}`);
}
const STATE_DIR = Deno.env.get("FLOWCTL_STATE_DIR") ?? "/tmp/flowctl-state-swarm-tests";
const SOURCE = "stellar-live-source-datalake";

Deno.test({
  name:
    "swarm mode across two nodes: a component on the worker by constraint, gRPC over the overlay, its health gate and registration",
  ignore: UNAVAILABLE !== undefined && !REQUIRE_DOCKER,
  async fn() {
    await using swarm = await startSwarm({ workers: 1 });
    const [worker] = swarm.workers;
    if (!worker) throw new Error("no worker");
    const build = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}tools/build_images.ts`],
      env: { DOCKER_HOST: swarm.manager.engine.host },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(build.code, 0, new TextDecoder().decode(build.stderr));
    await copyImage(swarm.manager.engine, worker.engine, `flowctl-example/${SOURCE}:latest`);

    await using dirTemp = await tempDir("flowctl-multinode-");
    const dir = dirTemp.path;
    const example = await Deno.readTextFile(`${ROOT}examples/ttp-pipeline.yaml`);
    const placed = example.replace("  driver: process\n", "  driver: swarm\n").replace(
      "      stop_grace_period: 10s\n",
      `      stop_grace_period: 10s\n      placement: { constraints: ["node.labels.name==${worker.name}"] }\n`,
    );
    await Deno.writeTextFile(`${dir}/pipeline.yaml`, placed);
    let expected = 0;
    for await (const entry of Deno.readDir(`${ROOT}examples/ttp/datalake`)) {
      const ledger = JSON.parse(
        await Deno.readTextFile(`${ROOT}examples/ttp/datalake/${entry.name}`),
      );
      for (const tx of ledger.transactions) expected += tx.payments.length;
    }
    const options = {
      wrapper: swarm.manager.wrapper,
      env: { DOCKER_HOST: swarm.manager.engine.host, FLOWCTL_STATE_DIR: STATE_DIR },
    };
    await using flowctl = new FlowctlProcess(
      runArgs(`${dir}/pipeline.yaml`, `${dir}/logs`),
      options,
    );
    await flowctl.waitForOutput("Pipeline started successfully", 90_000);
    await waitFor(
      () =>
        flowctl.stdout.split("\n").filter((l) => l.includes("| event ledger=")).length >=
          expected,
      `${expected} events`,
      30_000,
    );
    for (const id of [SOURCE, "ttp-processor", "consumer-app"]) {
      await flowctl.waitForOutput(`Component ${id} registered with the control plane`);
    }
    // The source's task runs on the worker, as status shows.
    using workerDocker = await DockerClient.connect(worker.engine.host);
    const workerId = (await workerDocker.json(
      v.looseObject({ Swarm: v.looseObject({ NodeID: v.string() }) }),
      "GET",
      "/info",
    )).Swarm.NodeID;
    const status = await runFlowctl(["status", `${dir}/pipeline.yaml`], options);
    assertEquals(status.code, 0, status.stderr);
    assertStringIncludes(
      status.stdout,
      `  ${SOURCE} tasks: 1 on `,
    );
    const sourceLine = status.stdout.split("\n").find((l) => l.startsWith(`  ${SOURCE} tasks:`));
    assertStringIncludes(sourceLine ?? "", ` ${workerId.slice(0, 12)} (running)`);
    const containers = await workerDocker.json(
      v.array(v.looseObject({ Id: v.string() })),
      "GET",
      "/containers/json",
      { query: { filters: JSON.stringify({ label: ["dev.flowctl.component=" + SOURCE] }) } },
    );
    assertEquals(containers.length, 1, "the source's container on the worker");
    flowctl.kill("SIGINT");
    const result = await flowctl.result();
    assertEquals(result.code, 0, result.stderr);
    // Health gate: the processor started only after the source on the worker was healthy.
    const out = result.stdout;
    const healthy = out.indexOf(`Component ${SOURCE} health check passed`);
    assertEquals(healthy >= 0, true, out);
    assertEquals(healthy < out.indexOf("Starting component: ttp-processor"), true, out);
    assertStringIncludes(out, `processor: reading ledgers from ${SOURCE}:50051`);
    assertEquals(
      out.split("\n").filter((l) => l.includes("| event ledger=")).length,
      expected,
    );
    using docker = await DockerClient.connect(swarm.manager.engine.host);
    assertEquals(await listServices(docker, "dev.flowctl.pipeline", "ttp-processing-pipeline"), []);
    // An image only the manager has, placed on the worker: rejected there, said with the node.
    const missing = `${dir}/missing.yaml`;
    await Deno.writeTextFile(
      missing,
      pipelineYaml(
        "swmissing",
        "  driver: swarm\n  sinks:\n    - id: app\n      image: flowctl-example/consumer-app:latest\n" +
          `      placement: { constraints: ["node.labels.name==${worker.name}"] }\n`,
      ),
    );
    const rejected = await runFlowctl(runArgs(missing, `${dir}/logs`), options);
    assertEquals(rejected.code, 1, rejected.stdout);
    const hostname = Deno.hostname();
    assertStringIncludes(
      rejected.stderr,
      `Component "app": its task was rejected on node "${hostname}": No such image: flowctl-example/consumer-app:latest`,
    );
    assertEquals(await listServices(docker, "dev.flowctl.pipeline", "swmissing"), []);

    // A health port that is not published, of a task on the worker: said at once, not timed out.
    const unpublished = `${dir}/unpublished.yaml`;
    await Deno.writeTextFile(
      unpublished,
      pipelineYaml(
        "swunpublished",
        "  driver: swarm\n  sources:\n" +
          imageComponent(
            "web",
            { HEALTH_PORT: 8000 },
            `      health: { http: { path: /health, port: 8000 } }\n      placement: { constraints: ["node.labels.name==${worker.name}"] }\n`,
          ),
      ),
    );
    const unprobed = await runFlowctl(runArgs(unpublished, `${dir}/logs`), options);
    assertEquals(unprobed.code, 1, unprobed.stdout);
    assertStringIncludes(
      unprobed.stderr,
      `Component "web" runs on node "${hostname}", where flowctl cannot probe its port 8000: publish it (a "hostPort" in its ports) or use "health: { registered: true }"`,
    );
    assertEquals(await listServices(docker, "dev.flowctl.pipeline", "swunpublished"), []);

    // The worker removes a stopped task's container shortly after the swarm forgot the task.
    await waitFor(
      async () =>
        (await workerDocker.json(v.array(v.looseObject({})), "GET", "/containers/json", {
          query: { all: true },
        })).length === 0,
      "no container left on the worker",
      10_000,
    );
  },
});
