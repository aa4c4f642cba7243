/**
 * Soak: runs a pipeline for 10 minutes (BENCH_SOAK_SECONDS) whose 10 components crash every
 * couple of seconds under `restart: always`, sampling flowctl's RSS and open file descriptors.
 * Prints the samples and their slopes (least squares, per minute, after the first minute):
 * both must stay flat. Baseline: the same figures of an idle Deno process over the same time.
 */
import { report, startFlowctl } from "./_bench.ts";

const seconds = Number(Deno.env.get("BENCH_SOAK_SECONDS") ?? "600");
const sampleEvery = Math.max(1, Math.floor(seconds / 60));
const dir = await Deno.makeTempDir({ prefix: "flowctl-bench-soak-" });
const components = Array.from(
  { length: 10 },
  (_, i) =>
    `    - id: crasher-${i}\n      command: [sh, -c, "echo starting; sleep 2; echo crashing >&2; exit 3"]\n      restart: always\n      max_restarts: 100000\n      stop_grace_period: 1s\n`,
).join("");
await Deno.writeTextFile(
  `${dir}/pipeline.yaml`,
  `apiVersion: flowctl/v1\nkind: Pipeline\nmetadata:\n  name: soak\nspec:\n  sources:\n${components}`,
);

function sample(pid: number): { rssMb: number; fds: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const rssMb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  return { rssMb, fds: [...Deno.readDirSync(`/proc/${pid}/fd`)].length };
}

function slopePerMinute(points: [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : (sxy / sxx) * 60;
}

const f = await startFlowctl(`${dir}/pipeline.yaml`, `${dir}/logs`);
const idle = new Deno.Command(Deno.execPath(), { args: ["eval", "setInterval(() => {}, 1000)"] })
  .spawn();
const flowctlPoints: { t: number; rssMb: number; fds: number }[] = [];
const idlePoints: { t: number; rssMb: number }[] = [];
const start = Date.now();
for (let t = 0; t <= seconds; t += sampleEvery) {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, start + t * 1000 - Date.now())));
  flowctlPoints.push({ t, ...sample(f.child.pid) });
  idlePoints.push({ t, rssMb: sample(idle.pid).rssMb });
  if (t % 60 === 0) {
    console.log(
      `t=${t}s rss=${flowctlPoints.at(-1)!.rssMb.toFixed(1)}MB fds=${flowctlPoints.at(-1)!.fds}`,
    );
  }
}
f.child.kill("SIGINT");
await f.child.status;
idle.kill("SIGTERM");
await idle.status;
const logText = await Deno.readTextFile(`${dir}/logs/crasher-0.log`);
const restarts = logText.split("\n").filter((l) => l === "starting").length - 1;

const warm = flowctlPoints.filter((p) => p.t >= Math.min(60, seconds / 4));
const rssSlope = slopePerMinute(warm.map((p) => [p.t, p.rssMb]));
const fdSlope = slopePerMinute(warm.map((p) => [p.t, p.fds]));
const idleSlope = slopePerMinute(
  idlePoints.filter((p) => p.t >= Math.min(60, seconds / 4)).map((p) => [p.t, p.rssMb]),
);
report(`soak ${seconds}s, 10 crashing components`, {
  restarts_per_component: restarts,
  rss_start_mb: warm[0]!.rssMb.toFixed(1),
  rss_end_mb: warm.at(-1)!.rssMb.toFixed(1),
  rss_slope_mb_per_min: rssSlope.toFixed(3),
  idle_deno_rss_slope_mb_per_min: idleSlope.toFixed(3),
  fds_start: warm[0]!.fds,
  fds_end: warm.at(-1)!.fds,
  fd_slope_per_min: fdSlope.toFixed(3),
  target: "flat: |rss slope| < 0.5 MB/min, |fd slope| < 0.1/min",
  result: Math.abs(rssSlope) < 0.5 && Math.abs(fdSlope) < 0.1 ? "PASS" : "MISS",
});
