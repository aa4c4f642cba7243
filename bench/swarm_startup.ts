/**
 * Time until the 3-component example is healthy on a single-node private swarm (a private dockerd
 * in its own network namespace, as in the swarm tests), in one run: flowctl in swarm mode (to
 * "Pipeline started successfully": every service started in order behind its inputs' health
 * checks), flowctl in container mode on the same engine, and `docker stack deploy` of an
 * equivalent stack file, which starts all three at once and does not wait for health (timed
 * until all three health endpoints answer), and the same stack deployed by hand in flowctl's
 * order with the same health waits (deploy the source, wait for its /health, add the processor,
 * wait, add the consumer, wait). Needs root and dockerd, like the swarm tests; the docker CLI is
 * used for the stack baselines only.
 */
import { flowctlArgs, median, report, ROOT, timeUntilLine } from "./_bench.ts";
import { startSwarm } from "../tests/_swarm.ts";

const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? "3");
const dir = await Deno.makeTempDir({ prefix: "flowctl-bench-swarm-" });
await using swarm = await startSwarm();
const { wrapper } = swarm.manager;
const host = swarm.manager.engine.host;
const env = {
  DOCKER_HOST: host,
  FLOWCTL_STATE_DIR: `${dir}/state`,
  // The reach check and overlay probes run this image; the private nodes cannot pull busybox.
  FLOWCTL_SWARM_PROBE_IMAGE: "flowctl-test/busybox:1",
};

async function sh(script: string): Promise<{ code: number; ms: number; out: string }> {
  const start = performance.now();
  const { code, stdout, stderr } = await new Deno.Command("bash", {
    args: ["-c", script],
    stdout: "piped",
    stderr: "piped",
    env,
  }).output();
  return {
    code,
    ms: performance.now() - start,
    out: new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr),
  };
}

const build = await sh(`${Deno.execPath()} run -A ${ROOT}tools/build_images.ts`);
if (build.code !== 0) throw new Error(`building the example's images failed: ${build.out}`);

const stack = `version: "3.8"
networks:
  net: { driver: overlay, attachable: true }
services:
  stellar-live-source-datalake:
    image: flowctl-example/stellar-live-source-datalake:latest
    environment: { GRPC_PORT: "50051", HEALTH_PORT: "8088" }
    networks: [net]
    deploy: { endpoint_mode: dnsrr }
    ports: [{ target: 8088, published: 8088, mode: host }]
  ttp-processor:
    image: flowctl-example/ttp-processor:latest
    environment: { GRPC_PORT: "50052", HEALTH_PORT: "8089", LIVE_SOURCE_ENDPOINT: "stellar-live-source-datalake:50051" }
    networks: [net]
    deploy: { endpoint_mode: dnsrr }
    ports: [{ target: 8089, published: 8089, mode: host }]
  consumer-app:
    image: flowctl-example/consumer-app:latest
    environment: { HEALTH_PORT: "3000", TTP_SERVICE_ADDRESS: "ttp-processor:50052" }
    networks: [net]
    deploy: { endpoint_mode: dnsrr }
    ports: [{ target: 3000, published: 3000, mode: host }]
`;
await Deno.writeTextFile(`${dir}/stack.yml`, stack);
// The same stack deployed by hand in flowctl's order: each service once its input is healthy.
const services = stack.slice(stack.indexOf("services:\n") + "services:\n".length)
  .split(/\n(?= {2}\S)/);
for (let i = 1; i <= services.length; i++) {
  const head = stack.slice(0, stack.indexOf("services:\n") + "services:\n".length);
  await Deno.writeTextFile(`${dir}/stack-${i}.yml`, head + services.slice(0, i).join("\n"));
}
const inNamespace = wrapper.join(" ");
const healthy = [8088, 8089, 3000].map((port) =>
  `busybox wget -q -O /dev/null http://127.0.0.1:${port}/health`
).join(" && ");
const stackUp =
  `docker -H ${host} stack deploy -c ${dir}/stack.yml benchstack >/dev/null && ${inNamespace} sh -c 'until ${healthy} 2>/dev/null; do sleep 0.01; done'`;
const wait = (port: number) =>
  `${inNamespace} sh -c 'until busybox wget -q -O /dev/null http://127.0.0.1:${port}/health 2>/dev/null; do sleep 0.01; done'`;
const stackInOrder = [8088, 8089, 3000].map((port, i) =>
  `docker -H ${host} stack deploy -c ${dir}/stack-${i + 1}.yml benchstack >/dev/null && ${
    wait(port)
  }`
).join(" && ");
const stackDown =
  `docker -H ${host} stack rm benchstack >/dev/null; until [ -z "$(docker -H ${host} ps -aq)" ]; do sleep 0.1; done; until docker -H ${host} network rm benchstack_net >/dev/null 2>&1 || [ -z "$(docker -H ${host} network ls -q --filter name=benchstack_net)" ]; do sleep 0.1; done`;

async function flowctlRun(orchestrator: string): Promise<number> {
  const f = await timeUntilLine(
    wrapper[0] ?? "",
    [
      ...wrapper.slice(1),
      Deno.execPath(),
      ...flowctlArgs(
        "run",
        `${ROOT}examples/ttp-pipeline.yaml`,
        "--orchestrator",
        orchestrator,
        "--quiet",
        "--control-plane-port",
        "0",
        "--log-dir",
        `${dir}/logs`,
      ),
    ],
    "Pipeline started successfully",
    { env },
  );
  f.child.kill("SIGINT");
  await f.child.status;
  return f.ms;
}

const times: Record<string, number[]> = { swarm: [], container: [], stack: [], ordered: [] };
for (let run = 0; run < RUNS; run++) {
  times.swarm!.push(await flowctlRun("swarm"));
  times.container!.push(await flowctlRun("container"));
  const s = await sh(stackUp);
  if (s.code !== 0) throw new Error(`docker stack deploy baseline failed: ${s.out}`);
  times.stack!.push(s.ms);
  const down = await sh(stackDown);
  if (down.code !== 0) throw new Error(`docker stack rm failed: ${down.out}`);
  const o = await sh(stackInOrder);
  if (o.code !== 0) throw new Error(`docker stack deploy in order failed: ${o.out}`);
  times.ordered!.push(o.ms);
  const downAgain = await sh(stackDown);
  if (downAgain.code !== 0) throw new Error(`docker stack rm failed: ${downAgain.out}`);
}
report("swarm startup, 3-service example, single-node private swarm", {
  runs: RUNS,
  flowctl_swarm_ms: median(times.swarm!).toFixed(0),
  flowctl_container_ms: median(times.container!).toFixed(0),
  docker_stack_deploy_ms: median(times.stack!).toFixed(0),
  docker_stack_deploy_in_order_ms: median(times.ordered!).toFixed(0),
  swarm_over_stack: (median(times.swarm!) / median(times.stack!)).toFixed(2),
  swarm_over_stack_in_order: (median(times.swarm!) / median(times.ordered!)).toFixed(2),
  swarm_over_container: (median(times.swarm!) / median(times.container!)).toFixed(2),
});
