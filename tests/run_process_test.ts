/** `flowctl run` with the process orchestrator, against real processes. */
import { DUPLICATE_WINDOW_MS } from "../src/cli/shutdown_signals.ts";
import { delay } from "../src/delay.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import {
  FIXTURE_COMMAND,
  FlowctlProcess,
  freePort,
  isAlive,
  pipelineYaml,
  processesWith,
  readEvents,
  ROOT,
  runArgs,
  runFlowctl,
  waitFor,
  writeTemp,
} from "./_helpers.ts";

interface Setup {
  dir: string;
  file: string;
  events: string;
}

async function setup(name: string, body: (events: string) => string): Promise<Setup> {
  const dir = await Deno.makeTempDir({ prefix: "flowctl-run-" });
  const events = `${dir}/events.txt`;
  const file = await writeTemp("pipeline.yaml", pipelineYaml(name, body(events)), dir);
  return { dir, file, events };
}

function component(id: string, env: Record<string, string | number>, extra = ""): string {
  const envText = Object.entries(env).map(([k, v]) => `${k}: "${v}"`).join(", ");
  return `    - id: ${id}\n      command: ${FIXTURE_COMMAND}\n      env: { ${envText} }\n${extra}`;
}

function assertAllGone(events: string): void {
  const pids = readEvents(events).filter(([, kind]) => kind === "pid").map(([, , pid]) => pid);
  assert(pids.length > 0, "the fixtures recorded their pids");
  const alive = pids.filter(isAlive);
  assertEquals(alive, [], `processes left running: ${alive.join(", ")}`);
}

Deno.test("flowctl run starts levels in order, a level in parallel, and stops in reverse", async () => {
  const [portA, portB] = [freePort(), freePort()];
  const { file, events, dir } = await setup("order", (events) =>
    `  sources:\n` +
    component(
      "slow",
      { EVENTS_FILE: events, HEALTH_PORT: portA, READY_AFTER_MS: 400 },
      `      health: { http: { path: /health, port: ${portA} } }\n`,
    ) +
    component(
      "fast",
      { EVENTS_FILE: events, HEALTH_PORT: portB },
      `      health: { tcp: { port: ${portB} } }\n`,
    ) +
    `  sinks:\n` +
    component("sink", { EVENTS_FILE: events }, "      inputs: [slow, fast]\n"));
  const flowctl = new FlowctlProcess(runArgs(file, `${dir}/logs`));
  await flowctl.waitForOutput("Pipeline started successfully");
  await flowctl.waitForOutput("sink ready");
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, 0, result.stderr);

  const starts = new Map(
    readEvents(events).filter(([, k]) => k === "start").map(([id, , t]) => [id, t]),
  );
  const [slow, fast, sink] = [
    starts.get("slow") ?? 0,
    starts.get("fast") ?? 0,
    starts.get("sink") ?? 0,
  ];
  assert(Math.abs(fast - slow) < 400, `one level starts in parallel (slow ${slow}, fast ${fast})`);
  assert(
    sink >= slow + 400,
    `the sink starts after its slow input is healthy (slow ${slow}, sink ${sink})`,
  );

  const lines = result.stdout.split("\n").filter((l) => l && !l.includes(" | "));
  assertEquals(lines[0], "Starting pipeline: order");
  const stopLines = lines.slice(lines.indexOf("Received shutdown signal"));
  assertEquals(stopLines.slice(0, 3), [
    "Received shutdown signal",
    "Stopping component: sink",
    "Component sink stopped",
  ]);
  assertEquals(stopLines.slice(3, 5).sort(), [
    "Stopping component: fast",
    "Stopping component: slow",
  ]);
  assertEquals(stopLines.slice(5, 7).sort(), ["Component fast stopped", "Component slow stopped"]);
  assertEquals(stopLines.slice(7), ["Pipeline stopped successfully"]);
  assert(
    lines.indexOf("Component sink stopped") < lines.indexOf("Stopping component: slow"),
    "sinks stop first",
  );
  assertStringIncludes(result.stdout, "Component slow health check passed");
  assertStringIncludes(result.stdout, "Component sink started (no health check)");
  assertAllGone(events);
});

Deno.test("flowctl run stops what it started when a component fails at startup, at each level", async (t) => {
  const cases = [
    {
      level: 0,
      failing:
        `    - id: broken\n      command: ${FIXTURE_COMMAND}\n      env: { LINES: "3", EXIT_AFTER_MS: "50", EXIT_CODE: "3", EVENTS_FILE: "{events}" }\n      health: { tcp: { port: {port} } }\n`,
      message: 'Pipeline failed: Component "broken" exited with code 3 during startup',
    },
    {
      level: 1,
      failing:
        `    - id: broken\n      inputs: [src]\n      command: ${FIXTURE_COMMAND}\n      env: { EVENTS_FILE: "{events}", LINES: "3" }\n      health: { tcp: { port: {port} }, start_period: 600ms }\n`,
      message:
        'Pipeline failed: Component "broken" did not pass its health check within 600ms (last probe: TCP connect to port {port} failed: connection refused)',
    },
    {
      level: 2,
      failing:
        `    - id: broken\n      inputs: [proc]\n      command: ${FIXTURE_COMMAND}\n      env: { LINES: "3", EXIT_AFTER_MS: "100", EXIT_CODE: "7", EVENTS_FILE: "{events}" }\n      health: { http: { path: /health, port: {port} } }\n`,
      message: 'Pipeline failed: Component "broken" exited with code 7 during startup',
    },
  ];
  for (const { level, failing, message } of cases) {
    await t.step(`level ${level}`, async () => {
      const [port, srcPort] = [freePort(), freePort()];
      const { file, events, dir } = await setup("fail", (events) => {
        const fill = (text: string) =>
          text.replaceAll("{events}", events).replaceAll("{port}", String(port));
        const src = component(
          "src",
          { EVENTS_FILE: events, GRANDCHILD: 1, HEALTH_PORT: srcPort },
          `      health: { tcp: { port: ${srcPort} } }\n`,
        );
        const proc = component("proc", { EVENTS_FILE: events }, "      inputs: [src]\n");
        if (level === 0) return `  sources:\n${src}${fill(failing)}  processors:\n${proc}`;
        if (level === 1) return `  sources:\n${src}  processors:\n${proc}${fill(failing)}`;
        return `  sources:\n${src}  processors:\n${proc}  sinks:\n${fill(failing)}`;
      });
      const result = await runFlowctl(runArgs(file, `${dir}/logs`));
      assertEquals(result.code, 1, result.stdout + result.stderr);
      assertStringIncludes(result.stderr, message.replaceAll("{port}", String(port)));
      assertStringIncludes(
        result.stderr,
        `Last lines of ${dir}/logs/broken.log:\n  broken line 1\n  broken line 2\n  broken line 3`,
      );
      assertEquals(result.stdout.includes("Pipeline started successfully"), false);
      assertAllGone(events);
    });
  }
});

Deno.test("flowctl run kills a component that ignores SIGTERM after its grace period, with its grandchildren", async () => {
  const token = `flowctl-test-${crypto.randomUUID()}`;
  const { file, events, dir } = await setup("stubborn", (events) =>
    `  sources:\n` +
    component(
      "stubborn",
      { EVENTS_FILE: events, IGNORE_SIGTERM: 1, GRANDCHILD: 1 },
      "      stop_grace_period: 300ms\n",
    ) +
    `    - id: shell\n      command: [sh, -c, "(trap '' TERM; sleep 1000; echo ${token}) & (trap '' TERM; sleep 1000; echo ${token}) & wait"]\n      stop_grace_period: 300ms\n`);
  const flowctl = new FlowctlProcess(runArgs(file, `${dir}/logs`));
  await flowctl.waitForOutput("Pipeline started successfully");
  await waitFor(() => processesWith(token).length >= 2, "the shell's children");
  await flowctl.waitForOutput("stubborn ready");
  flowctl.kill("SIGTERM");
  const result = await flowctl.result();
  assertEquals(result.code, 0, result.stderr);
  assertStringIncludes(result.stdout, "stubborn | ignoring SIGTERM");
  assertStringIncludes(result.stdout, "Pipeline stopped successfully");
  assertEquals(processesWith(token), []);
  assertAllGone(events);
});

Deno.test("flowctl run stops the children of npm start", async () => {
  const token = `flowctl-npm-${crypto.randomUUID()}`;
  const dir = await Deno.makeTempDir({ prefix: "flowctl-npm-" });
  await Deno.writeTextFile(
    `${dir}/package.json`,
    JSON.stringify({
      name: "app",
      version: "1.0.0",
      scripts: { start: `node -e "setInterval(() => {}, 1000)" ${token}` },
    }),
  );
  const file = await writeTemp(
    "pipeline.yaml",
    pipelineYaml("npm", `  sources:\n    - id: app\n      command: [npm, start, --, "1", "0"]\n`),
    dir,
  );
  const flowctl = new FlowctlProcess(runArgs(file, `${dir}/logs`));
  await flowctl.waitForOutput("Pipeline started successfully");
  await waitFor(() => processesWith(token).length > 0, "npm's node child");
  flowctl.kill("SIGHUP");
  const result = await flowctl.result();
  assertEquals(result.code, 0, result.stderr);
  assertEquals(processesWith(token), []);
});

Deno.test("flowctl run restarts a crashing component with backoff, then fails past max_restarts", async () => {
  const { file, events, dir } = await setup("crashy", (events) =>
    `  sources:\n` +
    component(
      "crashy",
      { EVENTS_FILE: events, EXIT_AFTER_MS: 200, EXIT_CODE: 1 },
      "      restart: on-failure\n      max_restarts: 2\n",
    ));
  const result = await runFlowctl(runArgs(file, `${dir}/logs`));
  assertEquals(result.code, 1, result.stderr);
  assertStringIncludes(result.stdout, "Pipeline started successfully");
  assertStringIncludes(
    result.stdout,
    "Component crashy exited with code 1\nRestarting component crashy in 1s (restart 1)",
  );
  assertStringIncludes(result.stdout, "Restarting component crashy in 2s (restart 2)");
  assertStringIncludes(result.stdout, "Starting component: crashy (attempt 3)");
  assertStringIncludes(
    result.stderr,
    'Pipeline failed: Component "crashy" exited with code 1 and was restarted 2 times already (max_restarts: 2)',
  );
  const starts = readEvents(events).filter(([, k]) => k === "start").map(([, , t]) => t);
  assertEquals(starts.length, 3);
  const [first = 0, second = 0, third = 0] = starts;
  assert(second - first >= 1000 + 200, `first restart after ~1s backoff (${second - first} ms)`);
  assert(third - second >= 2000 + 200, `second restart after ~2s backoff (${third - second} ms)`);
  assertAllGone(events);
});

Deno.test("flowctl run completes when every sink has exited 0", async () => {
  const { file, events, dir } = await setup(
    "batch",
    (events) =>
      `  sources:\n` + component("src", { EVENTS_FILE: events }) +
      `  sinks:\n` +
      component(
        "sink",
        { EVENTS_FILE: events, LINES: 2, EXIT_AFTER_MS: 100 },
        "      inputs: [src]\n",
      ),
  );
  const result = await runFlowctl(runArgs(file, `${dir}/logs`));
  assertEquals(result.code, 0, result.stderr);
  const lines = result.stdout.split("\n").filter((l) => l && !l.includes(" | "));
  assertEquals(lines.slice(-5), [
    "Component sink exited with code 0",
    "All sinks finished; stopping pipeline",
    "Stopping component: src",
    "Component src stopped",
    "Pipeline completed successfully",
  ]);
  assertAllGone(events);
});

Deno.test("flowctl run writes every line to the log file and the console, keeping the previous log", async () => {
  const { file, dir } = await setup(
    "chatty",
    () =>
      `  sinks:\n` + component("chatty", { LINES: 20000, EXIT_AFTER_MS: 0 }) +
      component("quiet-sink", { EXIT_AFTER_MS: 0 }),
  );
  const logs = `${dir}/logs`;
  const first = await runFlowctl(runArgs(file, logs));
  assertEquals(first.code, 0, first.stderr);
  const consoleLines = first.stdout.split("\n").filter((line) =>
    line.startsWith("chatty     | chatty line")
  );
  assertEquals(consoleLines.length, 20000);
  assertEquals(consoleLines[19999], "chatty     | chatty line 20000");
  const logLines = (await Deno.readTextFile(`${logs}/chatty.log`)).split("\n");
  assertEquals(logLines.filter((l) => /^chatty line \d+$/.test(l)).length, 20000);
  assertEquals((await Deno.stat(`${logs}/chatty.log`)).mode! & 0o777, 0o600);
  assertEquals((await Deno.stat(logs)).mode! & 0o777, 0o700);

  const second = await runFlowctl(runArgs(file, logs, "--quiet"));
  assertEquals(second.code, 0);
  assertEquals(second.stdout.includes(" | "), false, "--quiet hides component output");
  assertStringIncludes(await Deno.readTextFile(`${logs}/chatty.log.1`), "chatty line 20000");
});

Deno.test("flowctl run: a second Ctrl+C skips the grace period and exits 130", async () => {
  const { file, events, dir } = await setup(
    "forced",
    (events) =>
      `  sources:\n` +
      component(
        "stubborn",
        { EVENTS_FILE: events, IGNORE_SIGTERM: 1 },
        "      stop_grace_period: 60s\n",
      ),
  );
  const flowctl = new FlowctlProcess(runArgs(file, `${dir}/logs`));
  await flowctl.waitForOutput("stubborn ready");
  flowctl.kill("SIGINT");
  await flowctl.waitForOutput("ignoring SIGTERM");
  // A second keypress rather than a copy of the first: later than the duplicate window.
  await delay(DUPLICATE_WINDOW_MS + 200);
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, 130);
  assertStringIncludes(result.stdout, "Received second signal: stopping without grace periods");
  assertAllGone(events);
});

Deno.test("flowctl run --output json prints one event per line", async () => {
  const { file, dir } = await setup(
    "json",
    () => `  sinks:\n` + component("sink", { EXIT_AFTER_MS: 50, LINES: 1 }),
  );
  const result = await runFlowctl(runArgs(file, `${dir}/logs`, "--output", "json"));
  assertEquals(result.code, 0, result.stderr);
  const events = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
  assertEquals(events.map((e) => e.event), [
    "pipeline_starting",
    "component_starting",
    "component_started",
    "component_healthy",
    "pipeline_started",
    "component_exited",
    "pipeline_stopping",
    "pipeline_completed",
  ]);
  assertMatch(events[0].time, /^\d{4}-\d\d-\d\dT/);
  assertEquals(events[5].exit, { code: 0, signal: null });
});

Deno.test("flowctl run reports a missing command and a busy port before starting anything", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    const { file, dir } = await setup(
      "preflight",
      () =>
        `  sources:\n    - id: ghost\n      command: [no-such-program-xyz]\n    - id: web\n      command: [sleep, "100"]\n      ports: [{ containerPort: ${port} }]\n`,
    );
    const result = await runFlowctl(runArgs(file, `${dir}/logs`));
    assertEquals(result.code, 1);
    assertStringIncludes(
      result.stderr,
      'component "ghost": command "no-such-program-xyz" not found on PATH',
    );
    assertStringIncludes(
      result.stderr,
      `component "web": port ${port} on 127.0.0.1 is already in use`,
    );
    assertEquals(result.stdout.includes("Starting component"), false);
  } finally {
    listener.close();
  }
});

Deno.test("flowctl run refuses to start a pipeline that is already running", async () => {
  const { file, dir } = await setup(
    `twice-${crypto.randomUUID().slice(0, 6)}`,
    () => `  sources:\n    - id: idle\n      command: [sleep, "100"]\n`,
  );
  const first = new FlowctlProcess(runArgs(file, `${dir}/logs`));
  try {
    await first.waitForOutput("Pipeline started successfully");
    const second = await runFlowctl(runArgs(file, `${dir}/logs2`));
    assertEquals(second.code, 1);
    assertMatch(
      second.stderr,
      /Cannot start pipeline: "twice-\w+" is already running \(flowctl pid \d+/,
    );
  } finally {
    first.kill("SIGINT");
  }
  assertEquals((await first.result()).code, 0);
});

Deno.test("flowctl run still stops everything when its stdout was closed (flowctl run | head)", async () => {
  const { file, events, dir } = await setup(
    "piped",
    (events) =>
      `  sources:\n` + component("src", { EVENTS_FILE: events, GRANDCHILD: 1 }) +
      `  sinks:\n` + component("sink", { EVENTS_FILE: events }, "      inputs: [src]\n"),
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      `${ROOT}main.ts`,
      "run",
      file,
      "--log-dir",
      `${dir}/logs`,
      "--control-plane-port",
      "0",
    ],
    stdout: "piped",
    stderr: "null",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = child.stdout.getReader();
  let seen = "";
  while (!seen.includes("sink ready")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`flowctl ended early: ${seen}`);
    seen += new TextDecoder().decode(value);
  }
  await reader.cancel(); // like `head` exiting: flowctl's next write hits a closed pipe
  await waitFor(() => readEvents(events).filter(([, k]) => k === "pid").length === 3, "three pids");
  child.kill("SIGINT");
  const status = await child.status;
  assertEquals(status.code, 0);
  assertAllGone(events);
});
