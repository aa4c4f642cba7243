/**
 * `flowctl restart <id>` of one component in a running 50-component pipeline (busybox httpd, 5
 * levels, HTTP health checks). Measured in the same run, alternating: the restart request, and
 * that component's own stop followed by its start (`flowctl stop` then `flowctl start`), both as
 * the admin socket answers them (ready again for restart and start). Target: restart ≤ 1.2× stop
 * + start. For context: the same as whole `flowctl restart` commands (Deno start and module
 * loading included), and the bare process killed, spawned and polled by hand.
 */
import { requestControl } from "../src/admin/admin_client.ts";
import { flowctlArgs, httpdPipeline, median, report, startFlowctl } from "./_bench.ts";

const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? "10");
const pipeline = await httpdPipeline("restart-one", 50, 5);
const target = pipeline.components[20]!; // a middle level: it has inputs and dependents
const flowctl = await startFlowctl(pipeline.file, `${pipeline.dir}/logs`, ["--quiet"]);

async function timed(action: "restart" | "stop" | "start"): Promise<number> {
  const start = performance.now();
  const { results } = await requestControl("restart-one", {
    action,
    components: [target.id],
    withDependents: false,
  });
  const ms = performance.now() - start;
  const failed = results.find((r) => !r.ok);
  if (failed) throw new Error(`${action} failed: ${failed.reason}`);
  return ms;
}

const restart: number[] = [];
const stopStart: number[] = [];
const command: number[] = [];
try {
  for (let run = 0; run < RUNS; run++) {
    restart.push(await timed("restart"));
    stopStart.push(await timed("stop") + await timed("start"));
  }
  for (let run = 0; run < Math.min(RUNS, 5); run++) {
    const start = performance.now();
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: flowctlArgs("restart", pipeline.file, target.id),
      stdout: "null",
      stderr: "null",
    }).output();
    if (code !== 0) throw new Error(`flowctl restart exited ${code}`);
    command.push(performance.now() - start);
  }
} finally {
  flowctl.child.kill("SIGINT");
  await flowctl.child.status;
}

// The bare process: SIGTERM + wait, then spawn and poll its health URL.
const direct: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const spawn = () =>
    new Deno.Command("busybox", {
      args: ["httpd", "-f", "-p", `127.0.0.1:${target.port}`, "-h", `${pipeline.dir}/www`],
    }).spawn();
  const first = spawn();
  await healthy(target.port);
  const start = performance.now();
  first.kill("SIGTERM");
  await first.status;
  const second = spawn();
  await healthy(target.port);
  direct.push(performance.now() - start);
  second.kill("SIGTERM");
  await second.status;
}

async function healthy(port: number): Promise<void> {
  while (true) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const ratio = median(restart) / median(stopStart);
report("restart one of 50 components", {
  restart_ms: median(restart).toFixed(1),
  stop_plus_start_ms: median(stopStart).toFixed(1),
  ratio: ratio.toFixed(2),
  flowctl_restart_command_ms: median(command).toFixed(0),
  bare_process_kill_spawn_poll_ms: median(direct).toFixed(1),
  target: "<=1.2x",
  result: ratio <= 1.2 ? "PASS" : "MISS",
});
