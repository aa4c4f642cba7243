/**
 * Time to "Pipeline started successfully" for 3 and 50 instantly healthy components (busybox
 * httpd with an HTTP health check), against a bash script that starts the same commands level by
 * level and polls their health with curl. Target: flowctl ≤ 1.25× the script.
 *
 * Also splits flowctl's time at its first line ("Starting pipeline", printed once its modules are
 * loaded, the control plane listens and the state file is written): the fixed cost before it, and
 * the starting of the components after it, which is the part the script does too.
 */
import { httpdPipeline, median, report, startFlowctl, timeUntilLine } from "./_bench.ts";

const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? "5");

for (const [count, levels] of [[3, 3], [50, 5]] as const) {
  const pipeline = await httpdPipeline(`startup-${count}`, count, levels);
  const flowctl: number[] = [];
  const fixed: number[] = [];
  const script: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const f = await startFlowctl(
      pipeline.file,
      `${pipeline.dir}/logs`,
      ["--quiet"],
      "Pipeline started successfully",
      ["Starting pipeline"],
    );
    f.child.kill("SIGINT");
    await f.child.status;
    flowctl.push(f.ms);
    fixed.push(f.marks["Starting pipeline"] ?? NaN);
    const s = await timeUntilLine("bash", [pipeline.script], "all healthy");
    s.child.kill("SIGTERM");
    await s.child.status;
    script.push(s.ms);
  }
  const ratio = median(flowctl) / median(script);
  report(`startup ${count} components in ${levels} levels`, {
    flowctl_ms: median(flowctl).toFixed(0),
    bash_script_ms: median(script).toFixed(0),
    ratio: ratio.toFixed(2),
    flowctl_fixed_ms: median(fixed).toFixed(0),
    flowctl_components_ms: median(flowctl.map((ms, i) => ms - (fixed[i] ?? NaN))).toFixed(0),
    target: "<=1.25",
    result: ratio <= 1.25 ? "PASS" : "MISS",
  });
}
