/**
 * Time to "Pipeline started successfully" for 3 and 50 instantly healthy components (busybox
 * httpd with an HTTP health check), against a bash script that starts the same commands level by
 * level and polls their health with curl. Targets: 3 components ≤ 2× the script, 50 ≤ 1.25×, and
 * the first component spawned ≤ 60 ms after flowctl starts.
 *
 * Also splits flowctl's time at its first line ("Starting pipeline", printed once its modules are
 * loaded, the control plane's port is held and the state file is written): the fixed cost before
 * it, and the starting of the components after it, which is the part the script does too. The
 * control plane process starts meanwhile, beside the first components.
 *
 * The floor under all of it: the time until `deno run` of an empty script prints its first line
 * (the Deno runtime's own start), measured in the same run.
 */
import { httpdPipeline, median, report, startFlowctl, timeUntilLine } from "./_bench.ts";

const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? "5");

const empty = await Deno.makeTempFile({ suffix: ".ts" });
await Deno.writeTextFile(empty, 'console.log("ready");\n');
const floor: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const d = await timeUntilLine(Deno.execPath(), ["run", "-A", "--quiet", empty], "ready");
  await d.child.status;
  floor.push(d.ms);
}
await Deno.remove(empty);

for (const [count, levels, target] of [[3, 3, 2], [50, 5, 1.25]] as const) {
  const pipeline = await httpdPipeline(`startup-${count}`, count, levels);
  const flowctl: number[] = [];
  const fixed: number[] = [];
  const firstSpawn: number[] = [];
  const script: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const f = await startFlowctl(
      pipeline.file,
      `${pipeline.dir}/logs`,
      ["--quiet"],
      "Pipeline started successfully",
      ["Starting pipeline", "Starting component"],
    );
    f.child.kill("SIGINT");
    await f.child.status;
    flowctl.push(f.ms);
    fixed.push(f.marks["Starting pipeline"] ?? NaN);
    firstSpawn.push(f.marks["Starting component"] ?? NaN);
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
    first_component_ms: median(firstSpawn).toFixed(0),
    deno_runtime_start_ms: median(floor).toFixed(0),
    flowctl_components_ms: median(flowctl.map((ms, i) => ms - (fixed[i] ?? NaN))).toFixed(0),
    target: `<=${target}${count === 3 ? ", first component <=60 ms" : ""}`,
    result: ratio <= target && (count !== 3 || median(firstSpawn) <= 60) ? "PASS" : "MISS",
  });
}
