/** `flowctl run` with the process orchestrator, against real processes. */
import { ExitCode } from "../src/cli/exit_code.ts";
import { DUPLICATE_WINDOW_MS } from "../src/cli/shutdown_signals.ts";
import { delay } from "../src/delay.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import {
  fixture,
  FlowctlProcess,
  freePort,
  isAlive,
  MAIN,
  processesWith,
  readEvents,
  recordedPids,
  runArgs,
  runFlowctl,
  type TestComponent,
  testPipeline,
  uniqueName,
  waitFor,
} from "./_helpers.ts";

function assertAllGone(events: string): void {
  const pids = recordedPids(events);
  assert(pids.length > 0, "the fixtures recorded their pids");
  const alive = pids.filter(isAlive);
  assertEquals(alive, [], `processes left running: ${alive.join(", ")}`);
}

Deno.test("flowctl run starts levels in order, a level in parallel, and stops in reverse", async () => {
  const [portA, portB] = [freePort(), freePort()];
  await using p = await testPipeline(({ events }) => ({
    name: "order",
    sources: [
      fixture("slow", { EVENTS_FILE: events, HEALTH_PORT: portA, READY_AFTER_MS: 400 }, {
        health: { http: { path: "/health", port: portA } },
      }),
      fixture("fast", { EVENTS_FILE: events, HEALTH_PORT: portB }, {
        health: { tcp: { port: portB } },
      }),
    ],
    sinks: [fixture("sink", { EVENTS_FILE: events }, { inputs: ["slow", "fast"] })],
  }));
  await using flowctl = new FlowctlProcess(p.args);
  await flowctl.waitForOutput("Pipeline started successfully");
  await flowctl.waitForOutput("sink ready");
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, ExitCode.ok, result.stderr);

  const starts = new Map(
    readEvents(p.events).filter(([, k]) => k === "start").map(([id, , t]) => [id, t]),
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
  assertAllGone(p.events);
});

Deno.test("flowctl run stops what it started when a component fails at startup, at each level", async (t) => {
  const cases: {
    level: number;
    broken: (events: string, port: number) => TestComponent;
    message: string;
  }[] = [
    {
      level: 0,
      broken: (events, port) =>
        fixture("broken", { LINES: 3, EXIT_AFTER_MS: 50, EXIT_CODE: 3, EVENTS_FILE: events }, {
          health: { tcp: { port } },
        }),
      message: 'Pipeline failed: Component "broken" exited with code 3 during startup',
    },
    {
      level: 1,
      broken: (events, port) =>
        fixture("broken", { EVENTS_FILE: events, LINES: 3 }, {
          inputs: ["src"],
          health: { tcp: { port }, start_period: "600ms" },
        }),
      message:
        'Pipeline failed: Component "broken" did not pass its health check within 600ms (last probe: TCP connect to port {port} failed: connection refused)',
    },
    {
      level: 2,
      broken: (events, port) =>
        fixture("broken", { LINES: 3, EXIT_AFTER_MS: 100, EXIT_CODE: 7, EVENTS_FILE: events }, {
          inputs: ["proc"],
          health: { http: { path: "/health", port } },
        }),
      message: 'Pipeline failed: Component "broken" exited with code 7 during startup',
    },
  ];
  for (const { level, broken, message } of cases) {
    await t.step(`level ${level}`, async () => {
      const [port, srcPort] = [freePort(), freePort()];
      await using p = await testPipeline(({ events }) => {
        const src = fixture("src", { EVENTS_FILE: events, GRANDCHILD: 1, HEALTH_PORT: srcPort }, {
          health: { tcp: { port: srcPort } },
        });
        const proc = fixture("proc", { EVENTS_FILE: events }, { inputs: ["src"] });
        const failing = broken(events, port);
        if (level === 0) return { name: "fail", sources: [src, failing], processors: [proc] };
        if (level === 1) return { name: "fail", sources: [src], processors: [proc, failing] };
        return { name: "fail", sources: [src], processors: [proc], sinks: [failing] };
      });
      const result = await runFlowctl(p.args);
      assertEquals(result.code, ExitCode.failure, result.stdout + result.stderr);
      assertStringIncludes(result.stderr, message.replaceAll("{port}", String(port)));
      assertStringIncludes(
        result.stderr,
        `Last lines of ${p.logDir}/broken.log:\n  broken line 1\n  broken line 2\n  broken line 3`,
      );
      assertEquals(result.stdout.includes("Pipeline started successfully"), false);
      assertAllGone(p.events);
    });
  }
});

Deno.test("flowctl run kills a component that ignores SIGTERM after its grace period, with its grandchildren", async () => {
  const token = `flowctl-test-${crypto.randomUUID()}`;
  await using p = await testPipeline(({ events }) => ({
    name: "stubborn",
    sources: [
      fixture("stubborn", { EVENTS_FILE: events, IGNORE_SIGTERM: 1, GRANDCHILD: 1 }, {
        stop_grace_period: "300ms",
      }),
      {
        id: "shell",
        command: [
          "sh",
          "-c",
          `(trap '' TERM; sleep 1000; echo ${token}) & (trap '' TERM; sleep 1000; echo ${token}) & wait`,
        ],
        stop_grace_period: "300ms",
      },
    ],
  }));
  await using flowctl = new FlowctlProcess(p.args);
  await flowctl.waitForOutput("Pipeline started successfully");
  await waitFor(() => processesWith(token).length >= 2, "the shell's children");
  await flowctl.waitForOutput("stubborn ready");
  flowctl.kill("SIGTERM");
  const result = await flowctl.result();
  assertEquals(result.code, ExitCode.ok, result.stderr);
  assertStringIncludes(result.stdout, "stubborn | ignoring SIGTERM");
  assertStringIncludes(result.stdout, "Pipeline stopped successfully");
  assertEquals(processesWith(token), []);
  assertAllGone(p.events);
});

Deno.test("a component leads its own session and process group, under the pid flowctl records", async () => {
  await using p = await testPipeline({
    name: "session",
    sources: [{
      id: "leader",
      // pid, process group and session of its own process ($$ is $ in pipeline files), then it stays.
      command: ["sh", "-c", 'echo "ids $$$$ $(cut -d" " -f5,6 /proc/$$$$/stat)"; exec sleep 1000'],
    }],
  });
  await using flowctl = new FlowctlProcess(p.args);
  await flowctl.waitForOutput("Pipeline started successfully");
  await flowctl.waitForOutput("leader | ids");
  const ids = /ids (\d+) (\d+) (\d+)/.exec(flowctl.stdout);
  assert(ids, flowctl.stdout);
  const [pid, group, session] = ids.slice(1).map(Number);
  assertEquals([group, session], [pid, pid], flowctl.stdout);
  const status = await runFlowctl(["status", p.file, "--output", "json"]);
  const [leader] = JSON.parse(status.stdout).pipelines[0].components;
  assertEquals(leader.pid, pid, status.stdout);
  flowctl.kill("SIGINT");
  assertEquals((await flowctl.result()).code, ExitCode.ok);
  assert(!isAlive(pid!), `the component ${pid} was stopped`);
});

Deno.test("flowctl run stops the children of npm start", async () => {
  const token = `flowctl-npm-${crypto.randomUUID()}`;
  await using p = await testPipeline({
    name: "npm",
    sources: [{ id: "app", command: ["npm", "start", "--", "1", "0"] }],
  });
  await Deno.writeTextFile(
    `${p.dir}/package.json`,
    JSON.stringify({
      name: "app",
      version: "1.0.0",
      scripts: { start: `node -e "setInterval(() => {}, 1000)" ${token}` },
    }),
  );
  await using flowctl = new FlowctlProcess(p.args);
  await flowctl.waitForOutput("Pipeline started successfully");
  await waitFor(() => processesWith(token).length > 0, "npm's node child");
  flowctl.kill("SIGHUP");
  const result = await flowctl.result();
  assertEquals(result.code, ExitCode.ok, result.stderr);
  assertEquals(processesWith(token), []);
});

Deno.test("flowctl run restarts a crashing component with backoff, then fails past max_restarts", async () => {
  await using p = await testPipeline(({ events }) => ({
    name: "crashy",
    sources: [
      fixture("crashy", { EVENTS_FILE: events, EXIT_AFTER_MS: 200, EXIT_CODE: 1 }, {
        restart: "on-failure",
        max_restarts: 2,
      }),
    ],
  }));
  const result = await runFlowctl(p.args);
  assertEquals(result.code, ExitCode.failure, result.stderr);
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
  const starts = readEvents(p.events).filter(([, k]) => k === "start").map(([, , t]) => t);
  assertEquals(starts.length, 3);
  const [first = 0, second = 0, third = 0] = starts;
  assert(second - first >= 1000 + 200, `first restart after ~1s backoff (${second - first} ms)`);
  assert(third - second >= 2000 + 200, `second restart after ~2s backoff (${third - second} ms)`);
  assertAllGone(p.events);
});

Deno.test("flowctl run completes when every sink has exited 0", async () => {
  await using p = await testPipeline(({ events }) => ({
    name: "batch",
    sources: [fixture("src", { EVENTS_FILE: events })],
    sinks: [
      fixture("sink", { EVENTS_FILE: events, LINES: 2, EXIT_AFTER_MS: 100 }, { inputs: ["src"] }),
    ],
  }));
  const result = await runFlowctl(p.args);
  assertEquals(result.code, ExitCode.ok, result.stderr);
  const lines = result.stdout.split("\n").filter((l) => l && !l.includes(" | "));
  assertEquals(lines.slice(-5), [
    "Component sink exited with code 0",
    "All sinks finished; stopping pipeline",
    "Stopping component: src",
    "Component src stopped",
    "Pipeline completed successfully",
  ]);
  assertAllGone(p.events);
});

Deno.test("flowctl run writes every line to the log file and the console, keeping the previous log", async () => {
  await using p = await testPipeline({
    name: "chatty",
    sinks: [
      fixture("chatty", { LINES: 20000, EXIT_AFTER_MS: 0 }),
      fixture("quiet-sink", { EXIT_AFTER_MS: 0 }),
    ],
  });
  const first = await runFlowctl(p.args);
  assertEquals(first.code, ExitCode.ok, first.stderr);
  const consoleLines = first.stdout.split("\n").filter((line) =>
    line.startsWith("chatty     | chatty line")
  );
  assertEquals(consoleLines.length, 20000);
  assertEquals(consoleLines[19999], "chatty     | chatty line 20000");
  const logLines = (await Deno.readTextFile(`${p.logDir}/chatty.log`)).split("\n");
  assertEquals(logLines.filter((l) => /^chatty line \d+$/.test(l)).length, 20000);
  assertEquals((await Deno.stat(`${p.logDir}/chatty.log`)).mode! & 0o777, 0o600);
  assertEquals((await Deno.stat(p.logDir)).mode! & 0o777, 0o700);

  const second = await runFlowctl([...p.args, "--quiet"]);
  assertEquals(second.code, ExitCode.ok);
  assertEquals(second.stdout.includes(" | "), false, "--quiet hides component output");
  assertStringIncludes(await Deno.readTextFile(`${p.logDir}/chatty.log.1`), "chatty line 20000");
});

Deno.test("flowctl run: a second Ctrl+C skips the grace period and exits 130", async () => {
  await using p = await testPipeline(({ events }) => ({
    name: "forced",
    sources: [
      fixture("stubborn", { EVENTS_FILE: events, IGNORE_SIGTERM: 1 }, {
        stop_grace_period: "60s",
      }),
    ],
  }));
  await using flowctl = new FlowctlProcess(p.args);
  await flowctl.waitForOutput("stubborn ready");
  flowctl.kill("SIGINT");
  await flowctl.waitForOutput("ignoring SIGTERM");
  // A second keypress rather than a copy of the first: later than the duplicate window.
  await delay(DUPLICATE_WINDOW_MS + 200);
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, ExitCode.forced);
  assertStringIncludes(result.stdout, "Received second signal: stopping without grace periods");
  assertStringIncludes(result.stdout, "Pipeline stopped (forced: grace periods were skipped)");
  assertEquals(result.stdout.includes("stopped successfully"), false, result.stdout);
  assertAllGone(p.events);
});

Deno.test("flowctl run --output json prints one event per line", async () => {
  await using p = await testPipeline({
    name: "json",
    sinks: [fixture("sink", { EXIT_AFTER_MS: 50, LINES: 1 })],
  });
  const result = await runFlowctl([...p.args, "--output", "json"]);
  assertEquals(result.code, ExitCode.ok, result.stderr);
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
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  await using p = await testPipeline({
    name: "preflight",
    sources: [
      { id: "ghost", command: ["no-such-program-xyz"] },
      { id: "web", command: ["sleep", "100"], ports: [{ containerPort: port }] },
    ],
  });
  const result = await runFlowctl(p.args);
  assertEquals(result.code, ExitCode.failure);
  assertStringIncludes(
    result.stderr,
    'component "ghost": command "no-such-program-xyz" not found on PATH',
  );
  assertStringIncludes(
    result.stderr,
    `component "web": port ${port} on 127.0.0.1 is already in use`,
  );
  assertEquals(result.stdout.includes("Starting component"), false);
});

Deno.test("flowctl run refuses to start a pipeline that is already running", async () => {
  await using p = await testPipeline({
    name: uniqueName("twice"),
    sources: [{ id: "idle", command: ["sleep", "100"] }],
  });
  await using first = new FlowctlProcess(p.args);
  await first.waitForOutput("Pipeline started successfully");
  const second = await runFlowctl(runArgs(p.file, `${p.dir}/logs2`));
  assertEquals(second.code, ExitCode.failure);
  assertMatch(
    second.stderr,
    /Cannot start pipeline: "twice-\w+" is already running \(flowctl pid \d+/,
  );
  first.kill("SIGINT");
  assertEquals((await first.result()).code, ExitCode.ok);
});

Deno.test("flowctl run still stops everything when its stdout was closed (flowctl run | head)", async () => {
  await using p = await testPipeline(({ events }) => ({
    name: "piped",
    sources: [fixture("src", { EVENTS_FILE: events, GRANDCHILD: 1 })],
    sinks: [fixture("sink", { EVENTS_FILE: events }, { inputs: ["src"] })],
  }));
  // Not a FlowctlProcess: this test closes flowctl's stdout while it runs.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, ...p.args],
    stdout: "piped",
    stderr: "null",
    env: { NO_COLOR: "1" },
  }).spawn();
  await using _stopped = {
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await child.status;
    },
  };
  const reader = child.stdout.getReader();
  let seen = "";
  while (!seen.includes("sink ready")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`flowctl ended early: ${seen}`);
    seen += new TextDecoder().decode(value);
  }
  await reader.cancel(); // like `head` exiting: flowctl's next write hits a closed pipe
  await waitFor(() => recordedPids(p.events).length === 3, "three pids");
  child.kill("SIGINT");
  const status = await child.status;
  assertEquals(status.code, ExitCode.ok);
  assertAllGone(p.events);
});
