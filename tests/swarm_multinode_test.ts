/**
 * A real cluster shape: a manager and two workers (each a private dockerd in a network namespace
 * of its own), and flowctl on this host, which is no node, reaching the manager over tcp:// with
 * TLS certificates made here. The example runs with two components on one worker, one on the
 * other and one on the manager: the data flows, every component registers (two of them from the
 * same worker's address), every health gate passes (published ports on the nodes' addresses, and
 * an unpublished one probed from inside the overlay). Then: a control-plane address the nodes
 * cannot reach is refused before anything starts, and a node that lacks an image is named.
 */
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { REQUIRE_DOCKER, TEST_IMAGE } from "./_docker.ts";
import {
  FlowctlProcess,
  pipelineYaml,
  ROOT,
  runArgs,
  runFlowctl,
  tempDir,
  waitFor,
} from "./_helpers.ts";
import {
  copyImage,
  privateSwarmUnavailable,
  randomSwarmSubnet,
  startSwarm,
  type SwarmNode,
} from "./_swarm.ts";
import { makeEngineCertificates } from "./_tls.ts";
import { DockerClient } from "../src/docker/docker_client.ts";
import { listServices } from "../src/docker/swarm_api.ts";

const UNAVAILABLE = privateSwarmUnavailable();
if (UNAVAILABLE && !REQUIRE_DOCKER) {
  console.warn(`The multi-node swarm test is skipped: ${UNAVAILABLE}`);
}
const STATE_DIR = Deno.env.get("FLOWCTL_STATE_DIR") ?? "/tmp/flowctl-state-swarm-tests";
const SOURCE = "stellar-live-source-datalake";
const PIPELINE = "ttp-processing-pipeline";

/** The example with every component pinned to a node; the second consumer publishes nothing. */
function placedExample(example: string, nodes: Record<string, SwarmNode>): string {
  const pin = (node: SwarmNode) =>
    `      placement: { constraints: ["node.labels.name==${node.name}"] }\n`;
  let text = example.replace("  driver: process\n", "  driver: swarm\n");
  for (const [id, node] of Object.entries(nodes)) {
    text = text.replace(`    - id: ${id}\n`, `    - id: ${id}\n${pin(node)}`);
  }
  const consumer = text.slice(text.indexOf("    - id: consumer-app\n"));
  const second = consumer
    .replace("    - id: consumer-app\n", "    - id: consumer-app-2\n")
    .replace(/ {6}placement: .*\n/, pin(nodes["consumer-app-2"] as SwarmNode))
    .replace(/ {6}ports:\n {8}- \{ name: health[^\n]*\n/, "");
  return `${text.trimEnd()}\n${second}`;
}

Deno.test({
  name:
    "swarm from anywhere: flowctl off the cluster over TLS, two components on one worker, one on the other, one on the manager",
  ignore: UNAVAILABLE !== undefined && !REQUIRE_DOCKER,
  async fn() {
    await using dir = await tempDir("flowctl-cluster-");
    const subnet = randomSwarmSubnet();
    const managerAddress = `${subnet}.1`;
    const certs = await makeEngineCertificates(dir.path, [managerAddress]);
    await using swarm = await startSwarm({
      workers: 2,
      hostLink: true,
      subnet,
      managerArgs: certs.dockerdArgs(managerAddress, 2376),
    });
    const [worker1, worker2] = swarm.workers;
    if (!worker1 || !worker2) throw new Error("no workers");
    const build = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}tools/build_images.ts`],
      env: { DOCKER_HOST: swarm.manager.engine.host },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(build.code, 0, new TextDecoder().decode(build.stderr));
    for (const image of [SOURCE, "ttp-processor"]) {
      await copyImage(swarm.manager.engine, worker1.engine, `flowctl-example/${image}:latest`);
    }
    await copyImage(swarm.manager.engine, worker2.engine, "flowctl-example/consumer-app:latest");

    const example = await Deno.readTextFile(`${ROOT}examples/ttp-pipeline.yaml`);
    const file = `${dir.path}/pipeline.yaml`;
    await Deno.writeTextFile(
      file,
      placedExample(example, {
        [SOURCE]: worker1,
        "ttp-processor": worker1,
        "consumer-app": worker2,
        "consumer-app-2": swarm.manager,
      }),
    );
    const dataDir = `${ROOT}examples/ttp/datalake`;
    let expected = 0;
    for await (const entry of Deno.readDir(dataDir)) {
      const ledger = JSON.parse(await Deno.readTextFile(`${dataDir}/${entry.name}`));
      for (const tx of ledger.transactions) expected += tx.payments.length;
    }
    // flowctl on this host, which is no node: the engine over tcp with TLS, nothing else.
    const options = {
      env: {
        DOCKER_HOST: `tcp://${managerAddress}:2376`,
        DOCKER_TLS_VERIFY: "1",
        DOCKER_CERT_PATH: certs.clientDir,
        FLOWCTL_STATE_DIR: STATE_DIR,
        FLOWCTL_SWARM_PROBE_IMAGE: TEST_IMAGE,
      },
    };
    const events = (out: string, id: string) =>
      out.split("\n").filter((l) => new RegExp(`^${id} +\\| event ledger=`).test(l)).length;
    await using flowctl = new FlowctlProcess(runArgs(file, `${dir.path}/logs`), options);
    await flowctl.waitForOutput("Pipeline started successfully", 180_000);
    for (const id of ["consumer-app", "consumer-app-2"]) {
      await waitFor(() => events(flowctl.stdout, id) >= expected, `${expected} events`, 30_000);
    }
    for (const id of [SOURCE, "ttp-processor", "consumer-app", "consumer-app-2"]) {
      await flowctl.waitForOutput(`Component ${id} registered with the control plane`);
    }
    const status = await runFlowctl(["status", file], options);
    assertEquals(status.code, 0, status.stderr);
    // Ports where they really are: on the nodes' addresses.
    assertStringIncludes(status.stdout, `${worker1.address}:8088->8088`);
    assertStringIncludes(status.stdout, `${worker2.address}:3000->3000`);
    assertEquals(/127\.0\.0\.1:\d+->/.test(status.stdout), false, status.stdout);
    flowctl.kill("SIGINT");
    const result = await flowctl.result();
    assertEquals(result.code, 0, result.stderr);
    const out = result.stdout;
    // Every health gate held: each component started only once its input was healthy.
    const at = (line: string) => out.indexOf(line);
    assertEquals(at(`Component ${SOURCE} health check passed`) >= 0, true, out);
    assertEquals(
      at(`Component ${SOURCE} health check passed`) < at("Starting component: ttp-processor"),
      true,
      out,
    );
    for (const consumer of ["consumer-app", "consumer-app-2"]) {
      assertEquals(
        at("Component ttp-processor health check passed") <
          at(`Starting component: ${consumer}\n`),
        true,
        out,
      );
      assertStringIncludes(out, `Component ${consumer} health check passed`);
      assertEquals(events(out, consumer), expected);
    }
    assertEquals(out.includes("PERMISSION_DENIED"), false, out);
    using docker = await DockerClient.connect(swarm.manager.engine.host);
    assertEquals(await listServices(docker, "dev.flowctl.pipeline", PIPELINE), []);

    // An address of this host that no node reaches: refused before any component starts.
    const unreachable = await runFlowctl(
      [...runArgs(file, `${dir.path}/logs`), "--control-plane-address", "127.0.0.2"],
      options,
    );
    assertEquals(unreachable.code, 2, unreachable.stdout);
    assertStringIncludes(
      unreachable.stderr,
      "--control-plane-address 127.0.0.2 is a loopback address, which no swarm task reaches",
    );
    const hostOnly = hostOnlyAddress();
    if (hostOnly) {
      const refused = await runFlowctl(
        [...runArgs(file, `${dir.path}/logs`), "--control-plane-address", hostOnly],
        options,
      );
      assertEquals(refused.code, 2, refused.stdout);
      assertStringIncludes(refused.stderr, `cannot reach the control plane at ${hostOnly}:`);
      assertStringIncludes(refused.stderr, `node "${Deno.hostname()}" (${worker1.address})`);
      assertEquals(refused.stdout.includes("Starting component"), false, refused.stdout);
    }

    // An image only the manager has, pinned to a worker: rejected there, the node named.
    const missing = `${dir.path}/missing.yaml`;
    await Deno.writeTextFile(
      missing,
      pipelineYaml(
        "swmissing",
        "  driver: swarm\n  sinks:\n    - id: app\n      image: flowctl-example/consumer-app:latest\n" +
          `      placement: { constraints: ["node.labels.name==${worker1.name}"] }\n`,
      ),
    );
    const rejected = await runFlowctl(runArgs(missing, `${dir.path}/logs`), options);
    assertEquals(rejected.code, 1, rejected.stdout);
    assertStringIncludes(
      rejected.stderr,
      `Component "app": its task was rejected on node "${Deno.hostname()}" (${worker1.address}): No such image: flowctl-example/consumer-app:latest`,
    );
    assertEquals(await listServices(docker, "dev.flowctl.pipeline", "swmissing"), []);
  },
});

/**
 * An address of this host that the swarm's nodes have no route to (the host engine's bridge
 * gateway, say), or undefined when there is none.
 */
function hostOnlyAddress(): string | undefined {
  return Deno.networkInterfaces().find((i) =>
    i.family === "IPv4" && !i.address.startsWith("127.") && !i.address.startsWith("10.97.")
  )?.address;
}
