/**
 * Swarm mode: flowctl-sdk v1 fixture components as swarm services, driven by the data path, which
 * runs on flowctl's host and dials each task at the data port its node publishes (flowctl publishes
 * it in host mode on a port the node picks). On a single-node private swarm with flowctl on the
 * manager, and on a manager and a worker with flowctl on this host, which is no node, reaching
 * the manager over tcp with TLS.
 */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { REQUIRE_DOCKER, TEST_IMAGE } from "./_docker.ts";
import {
  FlowctlProcess,
  pipelineYaml,
  runArgs,
  runFlowctl,
  type RunOptions,
  tempDir,
  uniqueName,
  waitFor,
} from "./_helpers.ts";
import { componentPid, ledgersFrom, pipelineProcesses, sinkEvents } from "./_sdk_fixture.ts";
import { buildSdkImage, SDK_IMAGE } from "./_sdk_image.ts";
import {
  type PrivateSwarm,
  privateSwarmUnavailable,
  randomSwarmSubnet,
  startSwarm,
  type SwarmNode,
} from "./_swarm.ts";
import { makeEngineCertificates } from "./_tls.ts";
import { ESTABLISHED, tcpSocketsOf } from "./_control_plane.ts";
import { DockerClient } from "../src/docker/docker_client.ts";
import { listServices } from "../src/docker/swarm_api.ts";

const UNAVAILABLE = privateSwarmUnavailable();
if (UNAVAILABLE && !REQUIRE_DOCKER) {
  console.warn(`The data path swarm tests are skipped: ${UNAVAILABLE}`);
}
const STATE_DIR = Deno.env.get("FLOWCTL_STATE_DIR") ?? "/tmp/flowctl-state-swarm-tests";
/** Events the source streams, paced so that `status` can look at a run that is still moving. */
const TOTAL = 400;

type Role = "source" | "processor" | "sink";

/** One fixture component as a swarm service, on `node`, its data port 50051 as the SDK's env says. */
function service(
  role: Role,
  id: string,
  dir: string,
  node: SwarmNode,
  inputs?: string,
  extra = "",
): string {
  const env: Record<string, string> = role === "source"
    ? { FLOWCTL_COMPONENT_ID: id, GRPC_PORT: "50051", END_LEDGER: String(TOTAL), SOURCE_RATE: "40" }
    : { COMPONENT_ID: id, PORT: ":50051" };
  if (role === "sink") env.SINK_OUTPUT = `/out/${id}.out`;
  return `    - id: ${id}\n      image: ${SDK_IMAGE}\n      args: [${role}]\n` +
    (inputs ? `      inputs: [${inputs}]\n` : "") +
    `      env: ${JSON.stringify(env)}\n` +
    `      volumes: [{ host_path: ${dir}, container_path: /out }]\n` +
    `      placement: { constraints: ["node.labels.name==${node.name}"] }\n` + extra;
}

/** A source, a processor and a sink of the fixture, each pinned to its node. */
function sdkPipeline(name: string, dir: string, nodes: Record<Role, SwarmNode>): string {
  return pipelineYaml(
    name,
    "  driver: swarm\n" +
      `  sources:\n${service("source", "ledgers", dir, nodes.source)}` +
      `  processors:\n${
        service(
          "processor",
          "transform",
          dir,
          nodes.processor,
          "ledgers",
          "      restart: on-failure\n",
        )
      }` +
      `  sinks:\n${service("sink", "out", dir, nodes.sink, "transform")}`,
  );
}

/**
 * Runs the pipeline to its end: its edges driven (in `status` while it moves), every event
 * through in order, "All sinks finished", exit 0, and nothing left in the swarm. Returns what
 * `status` printed.
 */
async function runToEnd(
  swarm: PrivateSwarm,
  nodes: Record<Role, SwarmNode>,
  options: RunOptions,
  whileMoving?: (status: string, pids: { flowctl: number; dataPath: number }) => Promise<void>,
) {
  await using dir = await tempDir("flowctl-dp-swarm-");
  const name = uniqueName("dpsw");
  const file = `${dir.path}/pipeline.yaml`;
  await Deno.writeTextFile(file, sdkPipeline(name, dir.path, nodes));
  await using flowctl = new FlowctlProcess(runArgs(file, `${dir.path}/logs`), options);
  await flowctl.waitForOutput("Edge transform -> out: driven", 240_000);
  const status = await runFlowctl(["status", file], options);
  assertEquals(status.code, 0, status.stderr);
  assert(/ledgers -> transform\s+driven/.test(status.stdout), status.stdout);
  assert(/transform -> out\s+driven/.test(status.stdout), status.stdout);
  const dataPath = componentPid(name, "data-path");
  if (dataPath === undefined) throw new Error("no data path process");
  await whileMoving?.(status.stdout, { flowctl: flowctl.child.pid, dataPath });
  const result = await flowctl.result();
  assertEquals(result.code, 0, `${result.stdout}\n${result.stderr}`);
  assertStringIncludes(result.stdout, "Edge ledgers -> transform: driven");
  assertStringIncludes(result.stdout, "All sinks finished; stopping pipeline");
  const expected = Array.from({ length: TOTAL }, (_, i) => i + 1);
  assertEquals(ledgersFrom(sinkEvents(dir.path, "out"), "ledgers"), expected);
  using docker = await DockerClient.connect(swarm.manager.engine.host);
  assertEquals(await listServices(docker, "dev.flowctl.pipeline", name), []);
  assertEquals(pipelineProcesses(name), []);
  return status.stdout;
}

Deno.test({
  name:
    "swarm mode: the data path drives source -> processor -> sink tasks (flowctl on the manager)",
  ignore: UNAVAILABLE !== undefined && !REQUIRE_DOCKER,
  async fn(t) {
    await using swarm = await startSwarm();
    await buildSdkImage(swarm.manager.engine.host);
    const { manager } = swarm;
    const nodes = { source: manager, processor: manager, sink: manager };
    const options = {
      wrapper: manager.wrapper,
      env: {
        DOCKER_HOST: manager.engine.host,
        FLOWCTL_STATE_DIR: STATE_DIR,
        FLOWCTL_SWARM_PROBE_IMAGE: TEST_IMAGE,
      },
    };

    await t.step("to a bounded end, the edges driven in status", async () => {
      await boundedRun(swarm, nodes, options);
    });

    await t.step(
      "a processor task killed mid-stream is re-attached once the swarm started its new task",
      async () => {
        await using dir = await tempDir("flowctl-dp-swarm-");
        const name = uniqueName("dpswk");
        const file = `${dir.path}/pipeline.yaml`;
        await Deno.writeTextFile(file, sdkPipeline(name, dir.path, nodes));
        await using flowctl = new FlowctlProcess(runArgs(file, `${dir.path}/logs`), options);
        await waitFor(() => sinkEvents(dir.path, "out").length > 60, "events at the sink", 240_000);
        const pid = componentPid(name, "transform");
        if (pid === undefined) throw new Error("no process of the processor's task");
        Deno.kill(pid, "SIGKILL");
        const result = await flowctl.result();
        assertEquals(result.code, 0, `${result.stdout}\n${result.stderr}`);
        assertStringIncludes(result.stdout, "Restarting component transform");
        // Re-attached once, in the new task: not before, at the port the old task's node still
        // holds (its proxy accepts and closes), which would break the call again.
        const reattached = [
          ...result.stdout.matchAll(
            /processor "transform" re-attached \(call (\d+)\): (\d+) events the broken call took were not answered/g,
          ),
        ];
        assertEquals(reattached.map((m) => m[1]), ["2"], result.stdout);
        assertEquals(result.stdout.includes("unexpected error"), false, result.stdout);
        const ledgers = ledgersFrom(sinkEvents(dir.path, "out"), "ledgers");
        assert(ledgers.every((l, i) => i === 0 || l > ledgers[i - 1]!), "order kept, no repeats");
        assertEquals(ledgers.at(-1), TOTAL);
        assertEquals(TOTAL - ledgers.length, Number(reattached[0]?.[2]), "the unanswered events");
        assertStringIncludes(result.stdout, "All sinks finished; stopping pipeline");
      },
    );
  },
});

/** The bounded run on the single node, and where the data ports were published. */
async function boundedRun(
  swarm: PrivateSwarm,
  nodes: Record<Role, SwarmNode>,
  options: RunOptions,
): Promise<void> {
  const { address } = swarm.manager;
  const status = await runToEnd(swarm, nodes, options);
  // The data port of each task, published on a port the node picked.
  const published = [...status.matchAll(/(\d+\.\d+\.\d+\.\d+):(\d+)->50051/g)];
  assertEquals(published.map((m) => m[1]), [address, address, address]);
  assertEquals(new Set(published.map((m) => m[2])).size, 3, status);
  // The data path is a process here, not a swarm service: no tasks line for it.
  assertEquals(status.includes("data-path tasks:"), false, status);
}

Deno.test({
  name:
    "swarm mode: the data path on a host off the cluster drives tasks on a worker and the manager at their nodes' published data ports; a port the file does not name is not",
  ignore: UNAVAILABLE !== undefined && !REQUIRE_DOCKER,
  async fn() {
    await using dir = await tempDir("flowctl-dp-cluster-");
    const subnet = randomSwarmSubnet();
    const managerAddress = `${subnet}.1`;
    const certs = await makeEngineCertificates(dir.path, [managerAddress]);
    await using swarm = await startSwarm({
      workers: 1,
      hostLink: true,
      subnet,
      managerArgs: certs.dockerdArgs(managerAddress, 2376),
    });
    const [worker] = swarm.workers;
    if (!worker) throw new Error("no worker");
    for (const node of [swarm.manager, worker]) await buildSdkImage(node.engine.host);
    const published = (status: string, address: string) =>
      [...status.matchAll(new RegExp(`${address.replaceAll(".", "\\.")}:(\\d+)->50051`, "g"))]
        .map((m) => Number(m[1]));
    // The data path dials each task's published data port; flowctl itself dials none of them.
    const connections = async (status: string, pids: { flowctl: number; dataPath: number }) => {
      const ports = [worker.address, managerAddress].flatMap((a) => published(status, a));
      const peers = async (pid: number) =>
        new Set(
          (await tcpSocketsOf(pid)).filter((r) => r.state === ESTABLISHED).map((r) =>
            r.remote.port
          ),
        );
      const fromDataPath = await peers(pids.dataPath);
      assertEquals(ports.filter((port) => !fromDataPath.has(port)), [], `${[...fromDataPath]}`);
      const fromFlowctl = await peers(pids.flowctl);
      assertEquals(ports.filter((port) => fromFlowctl.has(port)), []);
    };
    // Source and sink on the worker, both with data port 50051: their node picks two ports.
    const options = {
      env: {
        DOCKER_HOST: `tcp://${managerAddress}:2376`,
        DOCKER_TLS_VERIFY: "1",
        DOCKER_CERT_PATH: certs.clientDir,
        FLOWCTL_STATE_DIR: STATE_DIR,
        FLOWCTL_SWARM_PROBE_IMAGE: TEST_IMAGE,
      },
    };
    const nodes = { source: worker, processor: swarm.manager, sink: worker };
    const status = await runToEnd(swarm, nodes, options, connections);
    assertEquals(published(status, worker.address).length, 2, status);
    assertEquals(new Set(published(status, worker.address)).size, 2, status);
    assertEquals(published(status, managerAddress).length, 1, status);

    // A source whose file names no data port (it listens on the SDK's default): nothing is
    // published for it, and its edge is direct, saying why.
    const name = uniqueName("dpswn");
    const file = `${dir.path}/unnamed.yaml`;
    const text = sdkPipeline(name, dir.path, { source: worker, processor: worker, sink: worker });
    await Deno.writeTextFile(file, text.replace('"GRPC_PORT":"50051",', ""));
    await using flowctl = new FlowctlProcess(runArgs(file, `${dir.path}/logs-unnamed`), {
      env: { ...options.env, FLOWCTL_DATA_PATH_DECIDE_MS: "5000" },
    });
    await flowctl.waitForOutput(
      `Edge ledgers -> transform: direct ("ledgers" registered :50051, a port of its task on node "${Deno.hostname()}" (${worker.address}) that flowctl's host cannot reach: name it as its data port`,
      240_000,
    );
    flowctl.kill("SIGINT");
    assertEquals((await flowctl.result()).code, 0);
  },
});
