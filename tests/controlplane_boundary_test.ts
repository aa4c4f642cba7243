/**
 * flowctl never dies with its control plane. Deno's node:http2 aborts the process that serves
 * it when clients end their sessions with a GOAWAY after a few dozen calls (denoland/deno#36788);
 * these tests drive exactly that against a real `flowctl run`, over and over, and kill the
 * control plane process outright: flowctl stays alive, its components stay supervised and
 * registered, and the control plane answers again on the same port.
 */
import { ExitCode } from "../src/cli/exit_code.ts";
import { DockerClient } from "../src/docker/docker_client.ts";
import { assert, assertEquals } from "./assert.ts";
import {
  containerComponent,
  FlowctlProcess,
  isAlive,
  testPipeline,
  uniqueName,
  waitFor,
} from "./_helpers.ts";
import {
  assertHeartbeatsGoOn,
  closingComponents,
  componentPids,
  controlPlaneOf,
  controlPlanePid,
  goawayRound,
  listed,
  logOf,
  node,
  registeredRun,
  registrations,
} from "./_control_plane.ts";
import { buildTestImage, leftovers, SKIP_DOCKER, TEST_IMAGE } from "./_docker.ts";

/** Fresh `flowctl run`s hit by the reproducer's pattern (the crash came in most of them before). */
const RUNS = 20;
/** Fresh runs of four closing grpc-js components (each run starts four Node processes). */
const COMPONENT_RUNS = 4;
const SLEEPER = ["sleep", "600"];

Deno.test(`control plane boundary: ${RUNS} fresh runs hit by the reproducer's clients keep flowctl, its components and the control plane`, async () => {
  await using p = await testPipeline({
    name: uniqueName("cpb"),
    sources: [{ id: "a", command: SLEEPER }, { id: "b", command: SLEEPER }],
  });
  for (let run = 0; run < RUNS; run++) {
    await using flowctl = new FlowctlProcess([...p.args, "--output", "json"], { env: p.env });
    // A fresh server is the most fragile (before the boundary flowctl died in most such runs).
    const endpoint = await controlPlaneOf(flowctl);
    await goawayRound(endpoint);
    await flowctl.waitForOutput('"event":"pipeline_started"', 30_000);
    assert(isAlive(flowctl.child.pid), `flowctl is alive in run ${run}:\n${flowctl.stderr}`);
    const pids = componentPids(p);
    assertEquals(pids.length, 2);
    for (const pid of pids) assert(isAlive(pid), `component pid ${pid} runs in run ${run}`);
    // It answers (a control plane process that crashed is being restarted; callers retry).
    await waitFor(
      async () => await listed(endpoint) !== undefined,
      `the control plane answering in run ${run}`,
    );
    flowctl.kill("SIGINT");
    const result = await flowctl.result();
    assertEquals(result.code, ExitCode.ok, result.stderr);
    for (const pid of pids) assert(!isAlive(pid), `component pid ${pid} stopped in run ${run}`);
  }
});

Deno.test(`control plane boundary: four grpc-js components that close their channels, ${COMPONENT_RUNS} fresh runs, keep flowctl and their registrations`, async () => {
  await using p = await testPipeline({
    name: uniqueName("cpg"),
    sources: closingComponents(4),
  });
  for (let run = 0; run < COMPONENT_RUNS; run++) {
    await using flowctl = new FlowctlProcess([...p.args, "--output", "json"], { env: p.env });
    const endpoint = await controlPlaneOf(flowctl);
    // Each component registers, heartbeats 30 times, calls client.close(), and again; the
    // reproducer's pattern comes on top while they register.
    await goawayRound(endpoint);
    await flowctl.waitForOutput('"event":"pipeline_started"', 30_000);
    assert(isAlive(flowctl.child.pid), `flowctl is alive in run ${run}:\n${flowctl.stderr}`);
    const pids = componentPids(p);
    assertEquals(pids.length, 4);
    for (const pid of pids) assert(isAlive(pid), `component pid ${pid} runs in run ${run}`);
    // All four registrations listed; none was lost and made again.
    assertEquals((await registrations(endpoint, 4)).size, 4);
    for (let i = 0; i < 4; i++) {
      const log = await logOf(p, `comp-${i}`);
      assertEquals(log.includes("registration lost"), false, log);
    }
    flowctl.kill("SIGINT");
    const result = await flowctl.result();
    assertEquals(result.code, ExitCode.ok, result.stderr);
    for (const pid of pids) assert(!isAlive(pid), `component pid ${pid} stopped in run ${run}`);
  }
});

Deno.test("control plane boundary: a killed control plane process is restarted on its port with every registration", async () => {
  await using p = await testPipeline({
    name: uniqueName("cpk"),
    // A heartbeat every second: the call in flight fails; from the moment flowctl sees the
    // process gone it holds the port, so the next call waits for the new process instead.
    sources: closingComponents(2, { BURST: "1", PAUSE_MS: "1000" }),
  });
  const { flowctl: run, endpoint, before, pid, logsBefore } = await registeredRun(p);
  await using flowctl = run;
  const beatsAfter = flowctl.stdout.length;
  Deno.kill(pid, "SIGKILL");
  await flowctl.waitForOutput(`Control plane process (pid ${pid}) died (signal SIGKILL)`);
  assertEquals(await registrations(endpoint, 2), before);
  await waitFor(() => {
    const next = controlPlanePid(p);
    return next !== undefined && next !== pid;
  }, "the state file names the new control plane pid");
  // Components keep heartbeating (every 300 ms, faster than a restart: flowctl holds the port
  // meanwhile); each saw at most the call in flight fail, and none lost its record.
  await assertHeartbeatsGoOn(p, logsBefore, 1);
  assertEquals(flowctl.stdout.slice(beatsAfter).includes("component_stale"), false);
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, ExitCode.ok, result.stderr);
  const last = controlPlanePid(p);
  assert(last === undefined || !isAlive(last), "no control plane process outlives flowctl");
});

Deno.test({
  name:
    "control plane boundary, container mode: closing clients and a killed control plane process leave the run and its registrations",
  ignore: SKIP_DOCKER,
  fn: async () => {
    await buildTestImage();
    await using p = await testPipeline({
      name: uniqueName("cpbc"),
      driver: "container",
      sources: [containerComponent("src", TEST_IMAGE), containerComponent("sink", TEST_IMAGE)],
    });
    // The test registers for the containers (busybox has no gRPC client): the plane is open.
    await using flowctl = new FlowctlProcess(
      [...p.args, "--output", "json", "--open-control-plane"],
      { env: p.env },
    );
    const endpoint = await controlPlaneOf(flowctl);
    await flowctl.waitForOutput('"event":"pipeline_started"', 60_000);
    await node("client.cjs", [
      endpoint,
      JSON.stringify(["src", "sink"].map((id) => ({
        service: "v1",
        method: "RegisterComponent",
        request: { component_id: id },
      }))),
    ]);
    const before = await registrations(endpoint, 2);
    for (let round = 0; round < 5; round++) await goawayRound(endpoint);
    const pid = controlPlanePid(p);
    assert(pid !== undefined, "the state file names the control plane's pid");
    Deno.kill(pid, "SIGKILL");
    await flowctl.waitForOutput(`Control plane process (pid ${pid}) died`);
    assertEquals(await registrations(endpoint, 2), before);
    // The restarted process listens on the pipeline network's gateway again, for containers.
    const state = JSON.parse(
      await Deno.readTextFile(`${p.env.FLOWCTL_STATE_DIR}/${p.name}.json`),
    );
    const gateway = await gatewayOf(state.networkId);
    const port = endpoint.split(":").at(-1);
    assertEquals((await registrations(`${gateway}:${port}`, 2)).size, 2);
    flowctl.kill("SIGINT");
    assertEquals((await flowctl.result()).code, ExitCode.ok);
    assertEquals(await leftovers(p.name), { containers: [], networks: [] });
  },
});

/** The gateway address of network `id`, as the engine reports it. */
async function gatewayOf(id: string): Promise<string> {
  using docker = await DockerClient.connect();
  const network = await docker.inspectNetwork(id);
  const gateway = network.IPAM?.Config?.[0]?.Gateway;
  assert(gateway !== undefined, `network ${id} has a gateway`);
  return gateway;
}
