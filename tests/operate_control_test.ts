/** `flowctl restart|stop|start` against a running pipeline (process mode), over the admin socket. */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import {
  FIXTURE_COMMAND,
  FlowctlProcess,
  freePort,
  isAlive,
  pipelineYaml,
  readEvents,
  runArgs,
  runFlowctl,
  tempDir,
  waitFor,
  writeTemp,
} from "./_helpers.ts";

const STATE_ENV = { FLOWCTL_STATE_DIR: Deno.env.get("FLOWCTL_STATE_DIR") ?? "/tmp/flowctl-state" };

function component(id: string, env: Record<string, string | number>, extra = ""): string {
  const envText = Object.entries(env).map(([k, v]) => `${k}: "${v}"`).join(", ");
  return `    - id: ${id}\n      command: ${FIXTURE_COMMAND}\n      env: { ${envText} }\n` +
    `      stop_grace_period: 2s\n${extra}`;
}

/** source → proc → sink, each with a TCP health check; the fixtures record pids in `events`. */
async function chain(name: string) {
  const temp = await tempDir("flowctl-operate-");
  const dir = temp.path;
  const events = `${dir}/events.txt`;
  const ports = [freePort(), freePort(), freePort()];
  const health = (port: number) => `      health: { tcp: { port: ${port} }, interval: 200ms }\n`;
  const file = await writeTemp(
    "pipeline.yaml",
    pipelineYaml(
      name,
      `  sources:\n` +
        component("src", { EVENTS_FILE: events, HEALTH_PORT: ports[0]! }, health(ports[0]!)) +
        `  processors:\n` +
        component(
          "proc",
          { EVENTS_FILE: events, HEALTH_PORT: ports[1]! },
          `      inputs: [src]\n${health(ports[1]!)}`,
        ) +
        `  sinks:\n` +
        component(
          "sink",
          { EVENTS_FILE: events, HEALTH_PORT: ports[2]! },
          `      inputs: [proc]\n${health(ports[2]!)}`,
        ),
    ),
    dir,
  );
  return { dir, file, events, [Symbol.asyncDispose]: () => temp[Symbol.asyncDispose]() };
}

/** The pids each component recorded, in start order. */
function pidsOf(events: string, id: string): number[] {
  return readEvents(events).filter(([c, kind]) => c === id && kind === "pid").map(([, , p]) => p);
}

Deno.test("flowctl restart restarts one component and leaves its dependents alone", async () => {
  await using chained = await chain("operate-restart");
  const { dir, file, events } = chained;
  await using flowctl = new FlowctlProcess(runArgs(file, `${dir}/logs`), { env: STATE_ENV });
  await flowctl.waitForOutput("Pipeline started successfully");
  const [procBefore] = pidsOf(events, "proc");
  const [sinkBefore] = pidsOf(events, "sink");

  const restarted = await runFlowctl(["restart", file, "proc"], { env: STATE_ENV });
  assertEquals(restarted.code, 0, restarted.stderr);
  assertStringIncludes(restarted.stdout, "Restarted component proc");
  await flowctl.waitForOutput("Restarting component proc (requested)");
  const procPids = pidsOf(events, "proc");
  assertEquals(procPids.length, 2, "proc started a second time");
  assert(!isAlive(procBefore!), "the first proc process is gone");
  assert(isAlive(procPids[1]!), "the new proc process runs");
  assertEquals(pidsOf(events, "sink"), [sinkBefore], "the sink was not restarted");
  assert(isAlive(sinkBefore!), "the sink still runs");

  const status = await runFlowctl(["status", file, "--output", "json"], { env: STATE_ENV });
  assertStringIncludes(status.stdout, `"proc"`);

  const withDependents = await runFlowctl(
    ["restart", file, "proc", "--with-dependents"],
    { env: STATE_ENV },
  );
  assertEquals(withDependents.code, 0, withDependents.stderr);
  assertEquals(pidsOf(events, "proc").length, 3);
  assertEquals(pidsOf(events, "sink").length, 2, "--with-dependents restarted the sink");
  await flowctl.waitForOutput("Restarting component sink (requested)");
  assertEquals(pidsOf(events, "src").length, 1, "the source was never restarted");
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, 0, result.stderr);
  for (const id of ["src", "proc", "sink"]) {
    assertEquals(pidsOf(events, id).filter(isAlive), [], `nothing of ${id} left running`);
  }
});

Deno.test("flowctl stop keeps a component stopped without failing the run; start brings it back", async () => {
  await using chained = await chain("operate-stop");
  const { dir, file, events } = chained;
  await using flowctl = new FlowctlProcess(runArgs(file, `${dir}/logs`), { env: STATE_ENV });
  await flowctl.waitForOutput("Pipeline started successfully");
  const [sinkPid] = pidsOf(events, "sink");
  const stopped = await runFlowctl(["stop", file, "sink"], { env: STATE_ENV });
  assertEquals(stopped.code, 0, stopped.stderr);
  assertStringIncludes(stopped.stdout, "Stopped component sink");
  assert(!isAlive(sinkPid!), "the sink process is gone");

  const status = await runFlowctl(["status", file, "--output", "json"], { env: STATE_ENV });
  assertEquals(status.code, 0, status.stderr);
  const sink = JSON.parse(status.stdout).pipelines[0].components.find((
    c: { id: string },
  ) => c.id === "sink");
  assertEquals(sink.state, "stopped");
  assertEquals(pidsOf(events, "sink").length, 1, "a stopped component is not restarted");

  const again = await runFlowctl(["stop", file, "sink"], { env: STATE_ENV });
  assertStringIncludes(again.stdout, "Stopped component sink (it was already stopped)");

  const started = await runFlowctl(["start", file, "sink"], { env: STATE_ENV });
  assertEquals(started.code, 0, started.stderr);
  assertStringIncludes(started.stdout, "Started component sink");
  const sinkPids = pidsOf(events, "sink");
  assertEquals(sinkPids.length, 2);
  assert(isAlive(sinkPids[1]!), "the sink runs again");

  const unknown = await runFlowctl(["restart", file, "nope"], { env: STATE_ENV });
  assertEquals(unknown.code, 2);
  assertStringIncludes(unknown.stderr, `no component "nope" in pipeline "operate-stop"`);
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, 0, result.stderr);
  assertStringIncludes(result.stdout, "Pipeline stopped successfully");
});

Deno.test("flowctl restart of a pipeline that is not running says so", async () => {
  await using chained = await chain("operate-idle");
  const { file } = chained;
  const result = await runFlowctl(["restart", file, "proc"], { env: STATE_ENV });
  assertEquals(result.code, 1);
  assertStringIncludes(result.stderr, `Pipeline "operate-idle" is not running`);
});

Deno.test("the admin socket is only for its owner", async () => {
  await using chained = await chain("operate-socket");
  const { dir, file } = chained;
  await using flowctl = new FlowctlProcess(runArgs(file, `${dir}/logs`), { env: STATE_ENV });
  await flowctl.waitForOutput("Pipeline started successfully");
  const info = await Deno.stat(`${STATE_ENV.FLOWCTL_STATE_DIR}/operate-socket.sock`);
  assert(info.isSocket, "the admin socket exists");
  assertEquals((info.mode ?? 0) & 0o777, 0o600);
  // Requests are validated: a malformed one is refused, and nothing happens.
  using client = Deno.createHttpClient({
    proxy: { transport: "unix", path: `${STATE_ENV.FLOWCTL_STATE_DIR}/operate-socket.sock` },
  });
  const response = await fetch("http://flowctl/v1/control", {
    method: "POST",
    body: JSON.stringify({ action: "explode", components: ["src"], withDependents: false }),
    client,
  });
  assertEquals(response.status, 400);
  assertStringIncludes((await response.json()).error, "invalid request");
  flowctl.kill("SIGINT");
  assertEquals((await flowctl.result()).code, 0);
  await waitFor(
    async () =>
      !(await Deno.stat(`${STATE_ENV.FLOWCTL_STATE_DIR}/operate-socket.sock`).catch(() =>
        undefined
      )),
    "the admin socket to be removed",
  );
});

Deno.test("flowctl exec runs beside a process with its env and working dir; env stays off disk", async () => {
  await using dirTemp = await tempDir("flowctl-operate-");
  const dir = dirTemp.path;
  const secret = `s3cret-${crypto.randomUUID()}`;
  const file = await writeTemp(
    "pipeline.yaml",
    pipelineYaml(
      "operate-exec",
      `  sources:\n    - id: src\n      command: ${FIXTURE_COMMAND}\n      working_dir: ${dir}\n` +
        `      env: { API_TOKEN: "${secret}" }\n`,
    ),
    dir,
  );
  await using flowctl = new FlowctlProcess(runArgs(file, `${dir}/logs`), { env: STATE_ENV });
  await flowctl.waitForOutput("Pipeline started successfully");
  const exec = await runFlowctl(
    ["exec", file, "src", "--", "sh", "-c", 'echo "$API_TOKEN $COMPONENT_ID $(pwd)"; exit 3'],
    { env: STATE_ENV },
  );
  assertEquals(exec.code, 3, exec.stderr);
  assertEquals(exec.stdout, `${secret} src ${dir}\n`);

  const missing = await runFlowctl(["exec", file, "src", "--", "no-such-program"], {
    env: STATE_ENV,
  });
  assertEquals(missing.code, 127);
  assertStringIncludes(missing.stderr, `command "no-such-program" not found`);

  const state = await Deno.readTextFile(`${STATE_ENV.FLOWCTL_STATE_DIR}/operate-exec.json`);
  const status = await runFlowctl(["status", file], { env: STATE_ENV });
  const statusJson = await runFlowctl(["status", file, "--output", "json"], { env: STATE_ENV });
  for (const text of [state, status.stdout, statusJson.stdout]) {
    assert(!text.includes(secret), `an env value leaked:\n${text}`);
  }
  flowctl.kill("SIGINT");
  assertEquals((await flowctl.result()).code, 0);
});

Deno.test("flowctl stop of a crashing component waiting out its backoff keeps it stopped", async () => {
  await using dirTemp = await tempDir("flowctl-operate-");
  const dir = dirTemp.path;
  const events = `${dir}/events.txt`;
  const file = await writeTemp(
    "pipeline.yaml",
    pipelineYaml(
      "operate-backoff",
      `  sources:\n    - id: steady\n      command: ${FIXTURE_COMMAND}\n` +
        `  sinks:\n` +
        component(
          "crashy",
          { EVENTS_FILE: events, EXIT_AFTER_MS: 300, EXIT_CODE: 1 },
          `      inputs: [steady]\n      restart: on-failure\n`,
        ),
    ),
    dir,
  );
  await using flowctl = new FlowctlProcess(runArgs(file, `${dir}/logs`), { env: STATE_ENV });
  // The third backoff (4 s) leaves `flowctl stop` time to start even on a loaded machine.
  await flowctl.waitForOutput("Restarting component crashy in 4s (restart 3)");
  const stopped = await runFlowctl(["stop", file, "crashy"], { env: STATE_ENV });
  assertEquals(stopped.code, 0, stopped.stderr);
  // Answered at once, without waiting for the backoff's relaunch.
  assert(!flowctl.stdout.includes("attempt 4"), flowctl.stdout);
  const status = await runFlowctl(["status", file, "--output", "json"], { env: STATE_ENV });
  const crashy = JSON.parse(status.stdout).pipelines[0].components.find((
    c: { id: string },
  ) => c.id === "crashy");
  assertEquals(crashy.state, "stopped");
  const started = await runFlowctl(["start", file, "crashy"], { env: STATE_ENV });
  assertEquals(started.code, 0, started.stderr);
  await flowctl.waitForOutput("Starting component: crashy (attempt 4)");
  await waitFor(() => pidsOf(events, "crashy").length >= 4, "crashy to start again");
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, 0, result.stderr);
});
