/**
 * `depends_on` with conditions (compose's map form), in process mode: `started`, `healthy`,
 * `completed_successfully` with a one-shot migration that succeeds or fails.
 */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import {
  fixture,
  FIXTURES,
  FlowctlProcess,
  freePort,
  isAlive,
  readEvents,
  recordedPids,
  testPipeline,
  uniqueName,
  waitFor,
} from "./_helpers.ts";
import {
  buildTestImage,
  containerPipeline,
  imageComponent,
  leftovers,
  SKIP_DOCKER,
} from "./_docker.ts";

if (!SKIP_DOCKER) await buildTestImage();

const MIGRATE_ARGV = [Deno.execPath(), "run", "-A", "--quiet", `${FIXTURES}/migrate.ts`];

/** When `id` recorded `kind` in the events file (the first time). */
function eventTime(events: string, id: string, kind: string): number | undefined {
  return readEvents(events).find(([c, k]) => c === id && k === kind)?.[2];
}

Deno.test("completed_successfully: the dependent starts after the migration exited 0, and the run goes on", async () => {
  const dbPort = freePort();
  await using p = await testPipeline(({ dir, events }) => ({
    name: uniqueName("cond-ok"),
    sources: [fixture("db", { EVENTS_FILE: events, HEALTH_PORT: dbPort, READY_AFTER_MS: 800 }, {
      health: { tcp: { port: dbPort }, interval: "100ms" },
      stop_grace_period: "2s",
    })],
    processors: [{
      id: "migrate",
      command: MIGRATE_ARGV,
      env: { EVENTS_FILE: events, MIGRATE_FILE: `${dir}/migrated` },
      depends_on: { db: { condition: "started" } },
    }],
    sinks: [fixture("app", { EVENTS_FILE: events, PRINT_ENV: "COMPONENT_ID" }, {
      depends_on: {
        migrate: { condition: "completed_successfully" },
        db: { condition: "service_healthy" },
      },
      stop_grace_period: "2s",
    })],
  }));
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  await flowctl.waitForOutput("Pipeline started successfully");

  await waitFor(() => eventTime(p.events, "app", "start") !== undefined, "app to start");
  // started: the migration ran while db was not healthy yet.
  const dbReady = eventTime(p.events, "db", "health-ready") ?? 0;
  const migrateStart = eventTime(p.events, "migrate", "start") ?? Infinity;
  assert(
    migrateStart < dbReady,
    `migrate started (${migrateStart}) before db was ready (${dbReady})`,
  );
  // completed_successfully: app started only after the migration finished.
  const migrateDone = eventTime(p.events, "migrate", "done") ?? Infinity;
  const appStart = eventTime(p.events, "app", "start") ?? 0;
  assert(
    appStart >= migrateDone,
    `app started (${appStart}) after migrate was done (${migrateDone})`,
  );
  assertEquals(await Deno.readTextFile(`${p.dir}/migrated`), "migrated\n");
  assertStringIncludes(flowctl.stdout, "Component migrate exited with code 0");

  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, 0, result.stderr);
  assertStringIncludes(result.stdout, "Pipeline stopped successfully");
  // A completed one-shot is not stopped again, and nothing was restarted.
  assert(!result.stdout.includes("Stopping component: migrate"), result.stdout);
  assert(!result.stdout.includes("Restarting component"), result.stdout);
  for (const pid of recordedPids(p.events)) assert(!isAlive(pid), `pid ${pid} is gone`);
});

Deno.test("completed_successfully: a failing migration fails the start with its log tail; its dependents never start", async () => {
  await using p = await testPipeline(({ events }) => ({
    name: uniqueName("cond-fail"),
    sources: [fixture("db", { EVENTS_FILE: events }, { stop_grace_period: "2s" })],
    processors: [{
      id: "migrate",
      command: MIGRATE_ARGV,
      env: { EVENTS_FILE: events, EXIT_CODE: "3" },
      depends_on: ["db"],
    }],
    sinks: [fixture("app", { EVENTS_FILE: events }, {
      depends_on: { migrate: { condition: "completed_successfully" } },
    })],
  }));
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  const result = await flowctl.result();
  assertEquals(result.code, 1, result.stdout);
  assertStringIncludes(result.stderr, 'Component "migrate" exited with code 3');
  assertStringIncludes(result.stderr, "migration failed: table locked");
  assertEquals(eventTime(p.events, "app", "start"), undefined, "app never started");
  assertStringIncludes(result.stdout, "Stopping component: db");
  for (const pid of recordedPids(p.events)) assert(!isAlive(pid), `pid ${pid} is gone`);
});

Deno.test("completed_successfully: a one-shot listed as the only sink does not complete the run", async () => {
  await using p = await testPipeline(({ events }) => ({
    name: uniqueName("cond-sink"),
    processors: [fixture("app", { EVENTS_FILE: events, TICK_MS: 50 }, {
      depends_on: { migrate: { condition: "completed_successfully" } },
      stop_grace_period: "2s",
    })],
    sinks: [{ id: "migrate", command: MIGRATE_ARGV, env: { EVENTS_FILE: events } }],
  }));
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  await flowctl.waitForOutput("Pipeline started successfully");
  // Had the one-shot's end counted as "every sink finished", app would be stopped at once.
  await flowctl.waitForOutput("app tick 20");
  assert(!flowctl.stdout.includes("All sinks finished"), flowctl.stdout);
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, 0, result.stderr);
  assertStringIncludes(result.stdout, "Pipeline stopped successfully");
});

Deno.test({
  name: "container mode: completed_successfully waits for the one-shot container to exit 0",
  ignore: SKIP_DOCKER,
  fn: async () => {
    await using p = await containerPipeline(
      "cond",
      "  sources:\n" +
        imageComponent("migrate", { EXIT_AFTER: 1 }) +
        "  sinks:\n" +
        imageComponent(
          "app",
          {},
          "      depends_on: { migrate: { condition: completed_successfully } }\n" +
            "      stop_grace_period: 1s\n",
        ),
    );
    const env = { FLOWCTL_STATE_DIR: `${p.dir}/state` };
    await using flowctl = new FlowctlProcess(p.args, { env });
    await flowctl.waitForOutput("Pipeline started successfully");
    const out = flowctl.stdout;
    const exited = out.indexOf("Component migrate exited with code 0");
    assert(exited >= 0, out);
    assert(exited < out.indexOf("Starting component: app"), out);
    await flowctl.waitForOutput("app ready");
    flowctl.kill("SIGINT");
    const result = await flowctl.result();
    assertEquals(result.code, 0, result.stderr);
    assert(!result.stdout.includes("Stopping component: migrate"), result.stdout);
    assertStringIncludes(result.stdout, "Pipeline stopped successfully");
    assertEquals(await leftovers(p.name), { containers: [], networks: [] });
  },
});
