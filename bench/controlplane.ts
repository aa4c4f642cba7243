/**
 * Registrations and heartbeats per second from 50 concurrent grpc-js clients under Node against
 * flowctl's control plane, against a minimal grpc-js server as the baseline, and against a bare
 * HTTP/2 server that does no work at all: the ceiling the load generator can reach here.
 * Target (issue 20): ≥ 0.9× the grpc-js server's heartbeats/s, p99 within 1.2× of its p99. The
 * control plane runs in its own process (flowctl __control-plane) and answers every call there.
 */
import { flowctlArgs, report, ROOT, startFlowctl } from "./_bench.ts";

const durationMs = Number(Deno.env.get("BENCH_CP_MS") ?? "5000");

async function load(endpoint: string) {
  const { code, stdout, stderr } = await new Deno.Command("node", {
    args: [`${ROOT}bench/controlplane_load.cjs`, endpoint, "50", String(durationMs)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

const dir = await Deno.makeTempDir({ prefix: "flowctl-bench-cp-" });
// One declared component per load client (bench-0 …), so each registration has its record; the
// load runs outside those processes, so the control plane is opened on purpose.
const idle = Array.from(
  { length: 50 },
  (_, i) => `    - id: bench-${i}\n      command: [sleep, "600"]\n`,
);
await Deno.writeTextFile(
  `${dir}/pipeline.yaml`,
  `apiVersion: flowctl/v1\nkind: Pipeline\nmetadata:\n  name: cp-bench\nspec:\n  sources:\n${
    idle.join("")
  }`,
);
const flowctl = await startFlowctl(
  `${dir}/pipeline.yaml`,
  `${dir}/logs`,
  ["--output", "json", "--open-control-plane"],
  '"pipeline_started"',
);
// The port is in the state file; read it from `flowctl status`.
const status = await new Deno.Command(Deno.execPath(), {
  args: flowctlArgs("status", `${dir}/pipeline.yaml`, "--output", "json"),
  stdout: "piped",
}).output();
const endpoint: string =
  JSON.parse(new TextDecoder().decode(status.stdout)).pipelines[0].controlPlane;
// Steady state: the load starts once the control plane process itself answers (connections made
// while flowctl still holds the port go through flowctl until their first calls are answered).
for (let answered = false; !answered;) {
  const { stdout } = await new Deno.Command("curl", {
    args: [
      "-s",
      "--http2-prior-knowledge",
      "-H",
      "content-type: application/json",
      "-d",
      "{}",
      `http://${endpoint}/grpc.health.v1.Health/Check`,
    ],
    stdout: "piped",
  }).output();
  answered = new TextDecoder().decode(stdout).includes("SERVING");
}
const ours = await load(endpoint);
flowctl.child.kill("SIGINT");
await flowctl.child.status;

/** Starts a Node server script that prints "listening <port>", runs the load, stops it. */
async function loadAgainstNode(script: string) {
  const server = new Deno.Command("node", {
    args: [`${ROOT}bench/${script}`],
    stdout: "piped",
  }).spawn();
  const reader = server.stdout.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  const port = /listening (\d+)/.exec(new TextDecoder().decode(value))?.[1];
  try {
    return await load(`127.0.0.1:${port}`);
  } finally {
    server.kill("SIGTERM");
    await server.status;
    await server.stdout.cancel().catch(() => {});
  }
}
const theirs = await loadAgainstNode("baseline_grpc_server.cjs");
const ceiling = await loadAgainstNode("null_grpc_server.cjs");

const ratio = ours.heartbeats_per_s / theirs.heartbeats_per_s;
const p99Ratio = ours.p99_ms / theirs.p99_ms;
report("control plane, 50 grpc-js clients", {
  registrations_per_s: ours.registrations_per_s,
  heartbeats_per_s: ours.heartbeats_per_s,
  p50_ms: ours.p50_ms.toFixed(2),
  p99_ms: ours.p99_ms.toFixed(2),
  baseline_grpc_js_heartbeats_per_s: theirs.heartbeats_per_s,
  baseline_p99_ms: theirs.p99_ms.toFixed(2),
  ratio: ratio.toFixed(2),
  p99_ratio: p99Ratio.toFixed(2),
  ceiling_null_server_heartbeats_per_s: ceiling.heartbeats_per_s,
  ceiling_p99_ms: ceiling.p99_ms.toFixed(2),
  target: ">=0.9x grpc-js heartbeats/s, p99 <=1.2x",
  result: ratio >= 0.9 && p99Ratio <= 1.2 ? "PASS" : "MISS",
});
