/**
 * Ctrl+C to exit, with components that stop at once (busybox httpd). Baseline: the same
 * processes spawned directly and killed with SIGTERM, waiting for all exits. Target: ≤ 250 ms.
 */
import { httpdPipeline, median, report, startFlowctl } from "./_bench.ts";

const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? "5");
for (const count of [3, 50]) {
  const pipeline = await httpdPipeline(`shutdown-${count}`, count, 1);
  const flowctl: number[] = [];
  const direct: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const f = await startFlowctl(pipeline.file, `${pipeline.dir}/logs`, ["--quiet"]);
    const start = performance.now();
    f.child.kill("SIGINT");
    const status = await f.child.status;
    flowctl.push(performance.now() - start);
    if (status.code !== 0) throw new Error(`flowctl exited ${status.code}`);

    const children = pipeline.components.map((c) =>
      new Deno.Command("busybox", {
        args: ["httpd", "-f", "-p", `127.0.0.1:${c.port}`, "-h", `${pipeline.dir}/www`],
      }).spawn()
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const killStart = performance.now();
    for (const child of children) child.kill("SIGTERM");
    await Promise.all(children.map((child) => child.status));
    direct.push(performance.now() - killStart);
  }
  const m = median(flowctl);
  report(`Ctrl+C to exit, ${count} components`, {
    flowctl_ms: m.toFixed(0),
    direct_kill_ms: median(direct).toFixed(1),
    target: "<=250ms",
    result: m <= 250 ? "PASS" : "MISS",
  });
}
