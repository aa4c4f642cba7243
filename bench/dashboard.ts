/**
 * What the dashboard costs and how fast it draws:
 * 1. flowctl's CPU while it monitors 50 components (HTTP health every 1 s) with `--ui` and one
 *    open page, against the same process with the page closed (thirds of the time, in turn, so
 *    both see the same machine load) and a run without `--ui` (the baseline). Target: the
 *    page costs at most 2 % of one core.
 * 2. A 200-component graph on screen, measured in the browser from navigation start to the
 *    frame after the graph was drawn, against the page's own DOMContentLoaded (the baseline).
 *    Target: at most 1 s.
 * BENCH_DASHBOARD_SECONDS changes the CPU measurement's duration (default 30).
 */
import { openBrowser, waitInPage } from "../tests/_browser.ts";
import { wideYaml } from "../tests/_wide_pipeline.ts";
import { flowctlArgs, httpdPipeline, report } from "./_bench.ts";

const seconds = Number(Deno.env.get("BENCH_DASHBOARD_SECONDS") ?? "30");
const TICKS = 100; // USER_HZ

/** flowctl running `file` until disposed; resolves once its output showed `until`. */
async function runFlowctl(file: string, logDir: string, extra: string[], until: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: flowctlArgs(
      "run",
      file,
      "--quiet",
      "--control-plane-port",
      "0",
      "--log-dir",
      logDir,
      ...extra,
    ),
    stdout: "piped",
    stderr: "null",
    stdin: "null",
    env: { NO_COLOR: "1", FLOWCTL_STATE_DIR: `${logDir}/state` },
  }).spawn();
  let output = "";
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  while (!output.includes(until)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`flowctl ended before "${until}":\n${output}`);
    output += value;
  }
  // Keep draining, so flowctl never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  return {
    pid: child.pid,
    url: /Dashboard: (\S+)/.exec(output)?.[1],
    async [Symbol.asyncDispose]() {
      child.kill("SIGINT");
      await child.status;
    },
  };
}

function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** Percent of one core `pid` used over `seconds`. */
async function cpuOver(pid: number, seconds: number): Promise<number> {
  const before = cpuTicks(pid);
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const elapsed = (performance.now() - started) / 1000;
  return ((cpuTicks(pid) - before) / TICKS / elapsed) * 100;
}

async function dashboardCpu() {
  const pipeline = await httpdPipeline("dashboard", 50, 5, ", interval: 1s");
  let baseline: number;
  {
    await using flowctl = await runFlowctl(
      pipeline.file,
      `${pipeline.dir}/a`,
      [],
      "Pipeline started",
    );
    baseline = await cpuOver(flowctl.pid, seconds);
  }
  await using flowctl = await runFlowctl(
    pipeline.file,
    `${pipeline.dir}/b`,
    ["--ui"],
    "Pipeline started",
  );
  await using browser = await openBrowser();
  // The same process with the page closed and open in turn, so both see the same load.
  const closed: number[] = [];
  const open: number[] = [];
  for (let round = 0; round < 3; round++) {
    await browser.page.goto("about:blank");
    closed.push(await cpuOver(flowctl.pid, seconds / 3));
    await browser.page.goto(flowctl.url ?? "");
    await waitInPage(
      browser.page,
      "document.querySelectorAll('[data-component][data-state=\"healthy\"]').length === 50",
      "50 healthy components",
    );
    open.push(await cpuOver(flowctl.pid, seconds / 3));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[1] ?? 0;
  const cost = median(open) - median(closed);
  report(`dashboard CPU, 50 components (HTTP health every 1 s), ${seconds}s per figure`, {
    flowctl_without_ui: `${baseline.toFixed(2)}%`,
    with_ui_page_closed: `${median(closed).toFixed(2)}%`,
    with_ui_page_open: `${median(open).toFixed(2)}%`,
    dashboard_cost: `${cost.toFixed(2)}%`,
    ratio_open_to_without_ui: (median(open) / baseline).toFixed(2),
    load_average_1m: Deno.loadavg()[0]?.toFixed(1) ?? "?",
    target: "cost<=2%",
    result: cost <= 2 ? "PASS" : "MISS",
  });
}

async function largeGraph() {
  const dir = await Deno.makeTempDir({ prefix: "flowctl-bench-graph-" });
  const file = `${dir}/pipeline.yaml`;
  // 40 sources, 120 processors in 3 levels, 40 sinks: 200 components, 240 edges.
  await Deno.writeTextFile(file, wideYaml("dashboard-200", 40, 3));
  await using flowctl = await runFlowctl(file, `${dir}/logs`, ["--ui"], "Pipeline started");
  await using browser = await openBrowser();
  const timings: { onScreen: number; domReady: number; received: number; drawn: number }[] = [];
  for (let i = 0; i < 5; i++) {
    await browser.page.goto(flowctl.url ?? "");
    await waitInPage(
      browser.page,
      "performance.getEntriesByName('flowctl:graph-on-screen').length > 0",
      "the graph on screen",
    );
    const drawn = await browser.page.evaluate<number>(
      "document.querySelectorAll('[data-component]').length",
    );
    if (drawn !== 200) throw new Error(`${drawn} components drawn, not 200`);
    timings.push(
      await browser.page.evaluate<
        { onScreen: number; domReady: number; received: number; drawn: number }
      >(`({
        onScreen: performance.getEntriesByName("flowctl:graph-on-screen")[0].startTime,
        received: performance.getEntriesByName("flowctl:init-received")[0].startTime,
        drawn: performance.getEntriesByName("flowctl:init-drawn")[0].startTime,
        domReady: performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd,
      })`),
    );
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[2] ?? 0;
  const onScreen = median(timings.map((t) => t.onScreen));
  const domReady = median(timings.map((t) => t.domReady));
  report("200-component graph on screen (median of 5 loads)", {
    graph_on_screen_ms: onScreen.toFixed(0),
    page_dom_ready_ms: domReady.toFixed(0),
    init_received_ms: median(timings.map((t) => t.received)).toFixed(0),
    init_drawn_ms: median(timings.map((t) => t.drawn)).toFixed(0),
    ratio: (onScreen / domReady).toFixed(2),
    load_average_1m: Deno.loadavg()[0]?.toFixed(1) ?? "?",
    target: "<=1000ms",
    result: onScreen <= 1000 ? "PASS" : "MISS",
  });
}

await largeGraph();
if (!Deno.args.includes("--graph-only")) await dashboardCpu();
