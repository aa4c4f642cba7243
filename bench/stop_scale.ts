/**
 * Stop time at scale: Ctrl+C → exit of `flowctl run` with 100, 1,000 and 2,000 trivial components
 * (`sleep`), and flowctl's memory and open files per component while they run. Baseline: a bash
 * script that starts as many `sleep`s and, on SIGINT, kills them and waits for them.
 * Target: stop time grows linearly, ratio 1,000:100 ≤ 12.
 * Medians of BENCH_RUNS (3) runs up to 1,000 components, one run above. BENCH_SIZES overrides the
 * sizes (e.g. "100,1000"); BENCH_FLOWCTL_MAIN runs another checkout's main.ts, for comparison.
 */
import { MAIN, median, report, timeUntilLine } from "./_bench.ts";

const RUNS = (count: number) => count <= 1000 ? Number(Deno.env.get("BENCH_RUNS") ?? "3") : 1;
const SIZES = (Deno.env.get("BENCH_SIZES") ?? "100,1000,2000").split(",").map(Number);
const FLOWCTL_MAIN = Deno.env.get("BENCH_FLOWCTL_MAIN") ?? MAIN;

async function pipeline(count: number): Promise<{ dir: string; file: string; script: string }> {
  const dir = await Deno.makeTempDir({ prefix: `flowctl-bench-stop-${count}-` });
  const components = Array.from(
    { length: count },
    (_, i) => `    - id: c${i}\n      command: [sleep, "100000"]\n      stop_grace_period: 10s\n`,
  );
  const file = `${dir}/pipeline.yaml`;
  await Deno.writeTextFile(
    file,
    `apiVersion: flowctl/v1\nkind: Pipeline\nmetadata:\n  name: stop-scale-${count}\nspec:\n  processors:\n${
      components.join("")
    }`,
  );
  const script = `${dir}/baseline.sh`;
  await Deno.writeTextFile(
    script,
    [
      "#!/usr/bin/env bash",
      "pids=()",
      `for ((i = 0; i < ${count}; i++)); do sleep 100000 & pids+=($!); done`,
      "trap 'kill \"${pids[@]}\"; wait; exit 0' INT",
      'echo "all started"',
      "wait",
    ].join("\n") + "\n",
  );
  return { dir, file, script };
}

/** Signals `child` with SIGINT and resolves with the ms until it exited. */
async function stopTime(child: Deno.ChildProcess): Promise<number> {
  const start = performance.now();
  child.kill("SIGINT");
  const status = await child.status;
  const ms = performance.now() - start;
  if (status.code !== 0) throw new Error(`exited with code ${status.code} after SIGINT`);
  return ms;
}

function rssMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

function openFiles(pid: number): number {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
}

/** One flowctl run of `file`: RSS and open files once started, then Ctrl+C to exit. */
async function measureFlowctl(p: { dir: string; file: string }) {
  const flowctl = await timeUntilLine(
    Deno.execPath(),
    [
      "run",
      "-A",
      "--quiet",
      FLOWCTL_MAIN,
      "run",
      p.file,
      "--quiet",
      "--control-plane-port",
      "0",
      "--log-dir",
      `${p.dir}/logs`,
    ],
    "Pipeline started successfully",
    { env: { FLOWCTL_STATE_DIR: `${p.dir}/state` } },
  );
  const rss = rssMb(flowctl.child.pid);
  const files = openFiles(flowctl.child.pid);
  return { rss, files, ms: await stopTime(flowctl.child) };
}

const stops = new Map<number, number>();
let previous: { count: number; rss: number } | undefined;
for (const count of SIZES) {
  const p = await pipeline(count);
  const flowctl: { rss: number; files: number; ms: number }[] = [];
  const bash: number[] = [];
  for (let run = 0; run < RUNS(count); run++) {
    flowctl.push(await measureFlowctl(p));
    bash.push(await stopTime((await timeUntilLine("bash", [p.script], "all started")).child));
  }
  await Deno.remove(p.dir, { recursive: true });
  const flowctlMs = median(flowctl.map((f) => f.ms));
  const bashMs = median(bash);
  const rss = median(flowctl.map((f) => f.rss));
  stops.set(count, flowctlMs);
  report(`Ctrl+C to exit, ${count} sleep components (median of ${RUNS(count)})`, {
    flowctl_ms: flowctlMs.toFixed(0),
    bash_ms: bashMs.toFixed(0),
    ratio: (flowctlMs / bashMs).toFixed(1),
    rss_mb: rss.toFixed(0),
    rss_kb_per_component: (rss * 1024 / count).toFixed(0),
    ...(previous
      ? {
        rss_kb_per_added_component: ((rss - previous.rss) * 1024 / (count - previous.count))
          .toFixed(0),
      }
      : {}),
    open_files: median(flowctl.map((f) => f.files)),
  });
  previous = { count, rss };
}
const small = stops.get(100);
const large = stops.get(1000);
if (small !== undefined && large !== undefined) {
  const ratio = large / small;
  report("Stop time 1,000:100", {
    ratio: ratio.toFixed(1),
    target: "<=12",
    result: ratio <= 12 ? "PASS" : "MISS",
  });
}
