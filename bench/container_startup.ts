/**
 * Time until the 3-container example is healthy: flowctl (to "Pipeline started successfully")
 * against a bash script doing three `docker run` with health polling (target ≤ 1.3×), and
 * against Debian's docker-compose with `depends_on: condition: service_healthy` (target: flowctl
 * at least 3× faster). Needs `deno task images` first, and docker-compose for the second baseline.
 */
import { median, report, ROOT, startFlowctl } from "./_bench.ts";

const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? "3");
const dir = await Deno.makeTempDir({ prefix: "flowctl-bench-containers-" });

async function sh(script: string): Promise<{ code: number; ms: number; out: string }> {
  const start = performance.now();
  const { code, stdout, stderr } = await new Deno.Command("bash", {
    args: ["-c", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code,
    ms: performance.now() - start,
    out: new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr),
  };
}

const script = `set -e
net=bench-script
docker network create $net >/dev/null
docker run -d --name bench-source --network $net --network-alias stellar-live-source-datalake -p 127.0.0.1:50051:50051 -p 127.0.0.1:8088:8088 -e GRPC_PORT=50051 -e HEALTH_PORT=8088 flowctl-example/stellar-live-source-datalake:latest >/dev/null
until curl -sf -o /dev/null http://127.0.0.1:8088/health; do sleep 0.01; done
docker run -d --name bench-processor --network $net --network-alias ttp-processor -p 127.0.0.1:50052:50052 -p 127.0.0.1:8089:8089 -e GRPC_PORT=50052 -e HEALTH_PORT=8089 -e LIVE_SOURCE_ENDPOINT=stellar-live-source-datalake:50051 flowctl-example/ttp-processor:latest >/dev/null
until curl -sf -o /dev/null http://127.0.0.1:8089/health; do sleep 0.01; done
docker run -d --name bench-consumer --network $net -p 127.0.0.1:8090:8090 -e HEALTH_PORT=8090 -e TTP_SERVICE_ADDRESS=ttp-processor:50052 flowctl-example/consumer-app:latest >/dev/null
until curl -sf -o /dev/null http://127.0.0.1:8090/health; do sleep 0.01; done
echo all healthy`;
const scriptCleanup =
  "docker rm -f bench-source bench-processor bench-consumer >/dev/null 2>&1; docker network rm bench-script >/dev/null 2>&1; true";

const denoCheck = (port: number) =>
  `["CMD", "/usr/bin/deno", "eval", "const r = await fetch('http://127.0.0.1:${port}/health'); Deno.exit(r.ok ? 0 : 1)"]`;
const compose = `version: "2.4"
services:
  stellar-live-source-datalake:
    image: flowctl-example/stellar-live-source-datalake:latest
    environment: { GRPC_PORT: "50051", HEALTH_PORT: "8088" }
    ports: ["127.0.0.1:50051:50051", "127.0.0.1:8088:8088"]
    healthcheck: { test: ${denoCheck(8088)}, interval: 1s, timeout: 2s, retries: 3 }
  ttp-processor:
    image: flowctl-example/ttp-processor:latest
    environment: { GRPC_PORT: "50052", HEALTH_PORT: "8089", LIVE_SOURCE_ENDPOINT: "stellar-live-source-datalake:50051" }
    ports: ["127.0.0.1:50052:50052", "127.0.0.1:8089:8089"]
    healthcheck: { test: ${denoCheck(8089)}, interval: 1s, timeout: 2s, retries: 3 }
    depends_on: { stellar-live-source-datalake: { condition: service_healthy } }
  consumer-app:
    image: flowctl-example/consumer-app:latest
    environment: { HEALTH_PORT: "8090", TTP_SERVICE_ADDRESS: "ttp-processor:50052" }
    ports: ["127.0.0.1:8090:8090"]
    depends_on: { ttp-processor: { condition: service_healthy } }
`;
await Deno.writeTextFile(`${dir}/docker-compose.yml`, compose);
const hasCompose = (await sh("command -v docker-compose")).code === 0;

const flowctl: number[] = [];
const bash: number[] = [];
const composeTimes: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const f = await startFlowctl(`${ROOT}examples/ttp-pipeline.yaml`, `${dir}/logs`, [
    "--orchestrator",
    "container",
    "--quiet",
  ]);
  flowctl.push(f.ms);
  f.child.kill("SIGINT");
  await f.child.status;

  await sh(scriptCleanup);
  const s = await sh(script);
  if (s.code !== 0) throw new Error(`bash baseline failed: ${s.out}`);
  bash.push(s.ms);
  await sh(scriptCleanup);

  if (hasCompose) {
    const c = await sh(
      `cd ${dir} && docker-compose -p benchcompose up -d >/dev/null 2>&1 && until curl -sf -o /dev/null http://127.0.0.1:8090/health; do sleep 0.01; done`,
    );
    if (c.code !== 0) throw new Error(`docker-compose baseline failed: ${c.out}`);
    composeTimes.push(c.ms);
    await sh(`cd ${dir} && docker-compose -p benchcompose down -t 1 >/dev/null 2>&1`);
  }
}
const ratio = median(flowctl) / median(bash);
const composeRatio = hasCompose ? median(composeTimes) / median(flowctl) : NaN;
report("container startup, 3-container example", {
  flowctl_ms: median(flowctl).toFixed(0),
  bash_docker_run_ms: median(bash).toFixed(0),
  ratio_vs_bash: ratio.toFixed(2),
  docker_compose_ms: hasCompose ? median(composeTimes).toFixed(0) : "not installed",
  compose_over_flowctl: hasCompose ? composeRatio.toFixed(2) : "-",
  target: "<=1.3x bash, >=3x faster than compose",
  result: ratio <= 1.3 && (!hasCompose || composeRatio >= 3) ? "PASS" : "MISS",
});
