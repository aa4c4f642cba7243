/**
 * flowctl's own RSS and CPU while it monitors 50 components (HTTP health every 1 s) for 30 s.
 * Baseline: an idle Deno process. Targets: RSS ≤ 150 MB, CPU ≤ 2 % of one core.
 * BENCH_MONITOR_SECONDS changes the duration.
 */
import { httpdPipeline, report, startFlowctl } from "./_bench.ts";

const seconds = Number(Deno.env.get("BENCH_MONITOR_SECONDS") ?? "30");
const TICKS = 100; // USER_HZ

function sample(pid: number): { ticks: number; rssKb: number } {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { ticks: Number(fields[11]) + Number(fields[12]), rssKb };
}

async function measure(pid: number) {
  const first = sample(pid);
  let peak = first.rssKb;
  for (let i = 0; i < seconds; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    peak = Math.max(peak, sample(pid).rssKb);
  }
  const last = sample(pid);
  return { cpuPercent: ((last.ticks - first.ticks) / TICKS / seconds) * 100, peakMb: peak / 1024 };
}

const pipeline = await httpdPipeline("monitor", 50, 1, ", interval: 1s");
const f = await startFlowctl(pipeline.file, `${pipeline.dir}/logs`, ["--quiet"]);
const flowctl = await measure(f.child.pid);
f.child.kill("SIGINT");
await f.child.status;

const idle = new Deno.Command(Deno.execPath(), { args: ["eval", "setInterval(() => {}, 1000)"] })
  .spawn();
await new Promise((resolve) => setTimeout(resolve, 500));
const baseline = await measure(idle.pid);
idle.kill("SIGTERM");
await idle.status;

report(`monitoring 50 components for ${seconds}s`, {
  flowctl_rss_mb: flowctl.peakMb.toFixed(0),
  flowctl_cpu_percent: flowctl.cpuPercent.toFixed(2),
  idle_deno_rss_mb: baseline.peakMb.toFixed(0),
  idle_deno_cpu_percent: baseline.cpuPercent.toFixed(2),
  rss_ratio: (flowctl.peakMb / baseline.peakMb).toFixed(2),
  target: "rss<=150MB cpu<=2%",
  result: flowctl.peakMb <= 150 && flowctl.cpuPercent <= 2 ? "PASS" : "MISS",
});
