/**
 * Log capture: a component prints ~1 GB of 100-byte lines; flowctl writes them to its log file
 * (--quiet), against `cmd > file`, medians of BENCH_RUNS (3) alternating runs. Target: throughput
 * ≥ 0.5× the redirect, and not one line lost.
 * BENCH_LOG_MB changes the size.
 */
import { flowctlArgs, median, report } from "./_bench.ts";

const megabytes = Number(Deno.env.get("BENCH_LOG_MB") ?? "1024");
const lines = Math.floor((megabytes * 1024 * 1024) / 100);
const dir = await Deno.makeTempDir({ prefix: "flowctl-bench-logs-" });
const command = `yes ${"x".repeat(99)} | head -n ${lines}`;

async function countLines(path: string): Promise<number> {
  const { stdout } = await new Deno.Command("wc", { args: ["-l", path], stdout: "piped" }).output();
  return Number(new TextDecoder().decode(stdout).trim().split(" ")[0]);
}

await Deno.writeTextFile(
  `${dir}/pipeline.yaml`,
  `apiVersion: flowctl/v1\nkind: Pipeline\nmetadata:\n  name: log-throughput\nspec:\n  sinks:\n    - id: printer\n      command: [sh, -c, ${
    JSON.stringify(command)
  }]\n`,
);

// The redirect's speed varies with the page cache, so both sides run RUNS times, alternating.
const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? "3");
const directTimes: number[] = [];
const flowctlTimes: number[] = [];
let captured = 0;
for (let run = 0; run < RUNS; run++) {
  let start = performance.now();
  await new Deno.Command("sh", { args: ["-c", `${command} > ${dir}/direct.log`] }).output();
  directTimes.push(performance.now() - start);
  await Deno.remove(`${dir}/direct.log`);

  start = performance.now();
  const result = await new Deno.Command(Deno.execPath(), {
    args: flowctlArgs(
      "run",
      `${dir}/pipeline.yaml`,
      "--quiet",
      "--control-plane-port",
      "0",
      "--log-dir",
      `${dir}/logs`,
    ),
    stdout: "null",
  }).output();
  flowctlTimes.push(performance.now() - start);
  if (result.code !== 0) throw new Error(`flowctl exited ${result.code}`);
  captured = await countLines(`${dir}/logs/printer.log`);
  if (captured !== lines) break;
  await Deno.remove(`${dir}/logs/printer.log.1`).catch(() => {});
}
const directMs = median(directTimes);
const flowctlMs = median(flowctlTimes);
const bytes = lines * 100;
const mbps = (ms: number) => (bytes / 1024 / 1024 / (ms / 1000)).toFixed(0);
const ratio = directMs / flowctlMs;
report(`log capture ${megabytes} MB`, {
  flowctl_MBps: mbps(flowctlMs),
  redirect_MBps: mbps(directMs),
  ratio: ratio.toFixed(2),
  runs: RUNS,
  lines_expected: lines,
  lines_captured: captured,
  target: ">=0.5x, no line lost",
  result: ratio >= 0.5 && captured === lines ? "PASS" : "MISS",
});
await Deno.remove(dir, { recursive: true });
