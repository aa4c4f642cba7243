/**
 * Health-detection delay: a component answers 503 until a moment it records, then 200; the delay
 * is from that moment to flowctl's component_healthy event. Baseline: a bash loop polling with
 * curl every 100 ms, as scripts usually do. Target: median ≤ 25 ms.
 */
import { flowctlArgs, freePorts, median, report, ROOT } from "./_bench.ts";

const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? "10");
const fixture = `${ROOT}tests/fixtures/component.ts`;
const dir = await Deno.makeTempDir({ prefix: "flowctl-bench-health-" });

async function readyAt(events: string): Promise<number> {
  const line = (await Deno.readTextFile(events)).split("\n").find((l) =>
    l.includes(" health-ready ")
  );
  return Number(line?.split(" ")[2]);
}

const flowctlDelays: number[] = [];
const scriptDelays: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const [port] = freePorts(1);
  const events = `${dir}/events-${run}.txt`;
  const readyAfter = 300 + Math.round(Math.random() * 100);
  const env =
    `{ EVENTS_FILE: "${events}", HEALTH_PORT: "${port}", READY_AFTER_MS: "${readyAfter}" }`;
  const file = `${dir}/pipeline-${run}.yaml`;
  await Deno.writeTextFile(
    file,
    `apiVersion: flowctl/v1\nkind: Pipeline\nmetadata:\n  name: health-delay\nspec:\n  sources:\n    - id: slow\n      command: [${
      JSON.stringify(Deno.execPath())
    }, run, -A, --quiet, ${
      JSON.stringify(fixture)
    }]\n      env: ${env}\n      health: { http: { path: /health, port: ${port} } }\n`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: flowctlArgs(
      "run",
      file,
      "--output",
      "json",
      "--control-plane-port",
      "0",
      "--log-dir",
      `${dir}/logs`,
    ),
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of child.stdout) {
    text += decoder.decode(chunk, { stream: true });
    const line = text.split("\n").find((l) => l.includes('"event":"component_healthy"'));
    if (line) {
      flowctlDelays.push(Date.parse(JSON.parse(line).time) - await readyAt(events));
      child.kill("SIGINT");
    }
  }
  await child.status;

  // Baseline: the same component started by hand, polled by curl every 100 ms.
  const [port2] = freePorts(1);
  const events2 = `${dir}/events-script-${run}.txt`;
  const component = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", fixture],
    env: {
      EVENTS_FILE: events2,
      HEALTH_PORT: String(port2),
      READY_AFTER_MS: String(readyAfter),
      COMPONENT_ID: "slow",
    },
    stdout: "null",
  }).spawn();
  const poll = await new Deno.Command("bash", {
    args: [
      "-c",
      `until curl -sf -o /dev/null http://127.0.0.1:${port2}/health; do sleep 0.1; done; date +%s%3N`,
    ],
    stdout: "piped",
  }).output();
  scriptDelays.push(Number(new TextDecoder().decode(poll.stdout).trim()) - await readyAt(events2));
  component.kill("SIGTERM");
  await component.status;
}
const m = median(flowctlDelays);
report("health detection delay", {
  flowctl_median_ms: m.toFixed(1),
  flowctl_max_ms: Math.max(...flowctlDelays).toFixed(0),
  curl_poll_100ms_median_ms: median(scriptDelays).toFixed(1),
  ratio: (m / median(scriptDelays)).toFixed(2),
  target: "median<=25ms",
  result: m <= 25 ? "PASS" : "MISS",
});
