/**
 * `flowctl run --watch` (process mode): an edit restarts only what changed and what depends on
 * it, a new component starts, a removed one stops, and a bad edit is reported and changes
 * nothing.
 */
import { stringify } from "yaml";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import {
  fixture,
  FlowctlProcess,
  freePort,
  isAlive,
  readEvents,
  recordedPids,
  runFlowctl,
  type TestComponent,
  testPipeline,
  uniqueName,
  waitFor,
} from "./_helpers.ts";

/** The pids each component recorded, in start order. */
function pidsOf(events: string, id: string): number[] {
  return readEvents(events).filter(([c, kind]) => c === id && kind === "pid").map(([, , p]) => p);
}

Deno.test("run --watch restarts what changed and its dependents, adds, removes, and survives a bad edit", async () => {
  const ports = { src: freePort(), proc: freePort() };
  const name = uniqueName("watch");
  let events = "";
  const component = (id: string, env: Record<string, string | number>, extra = {}) =>
    fixture(id, { EVENTS_FILE: events, ...env }, { stop_grace_period: "2s", ...extra });
  const spec = (procEnv: string, more: { sources?: TestComponent[] } = {}) => ({
    apiVersion: "flowctl/v1",
    kind: "Pipeline",
    metadata: { name },
    spec: {
      sources: [
        component("src", { HEALTH_PORT: ports.src }, {
          health: { tcp: { port: ports.src }, interval: "200ms" },
        }),
        component("other", {}),
        ...(more.sources ?? []),
      ],
      processors: [component("proc", { HEALTH_PORT: ports.proc, MODE: procEnv }, {
        inputs: ["src"],
        health: { tcp: { port: ports.proc }, interval: "200ms" },
      })],
      sinks: [component("sink", { PRINT_ENV: "MODE" }, { inputs: ["proc"] })],
    },
  });
  await using p = await testPipeline((paths) => {
    events = paths.events;
    return { name, sources: [fixture("placeholder")] };
  });
  const write = (document: unknown) => Deno.writeTextFile(p.file, stringify(document));
  await write(spec("one"));

  await using flowctl = new FlowctlProcess([...p.args, "--watch"], { env: p.env });
  await flowctl.waitForOutput("Pipeline started successfully");
  const ids = ["src", "other", "proc", "sink"];
  await waitFor(() => ids.every((id) => pidsOf(events, id).length === 1), "every pid");
  const first = Object.fromEntries(
    ids.map((id) => [id, pidsOf(events, id)]),
  );

  // 1. An env value of proc: proc and its dependent sink restart, src and other do not.
  await write(spec("two"));
  await flowctl.waitForOutput("Pipeline reloaded: restarted proc (changed); restarted sink");
  assertStringIncludes(flowctl.stdout, "Restarting component sink (the pipeline file changed)");
  await waitFor(() => pidsOf(events, "sink").length === 2, "sink to start again");
  assertEquals(pidsOf(events, "src"), first.src);
  assertEquals(pidsOf(events, "other"), first.other);
  assertEquals(pidsOf(events, "proc").length, 2);
  assert(!isAlive(first.proc![0]!), "the old proc is gone");
  assert(isAlive(first.src![0]!) && isAlive(first.other![0]!), "src and other still run");
  await flowctl.waitForOutput("MODE=<unset>"); // the sink has no MODE; it printed after restart

  // 2. A bad edit: reported with its location, nothing restarted.
  const running = () => ids.map((id) => pidsOf(events, id).join(",")).join(" ");
  const before = running();
  await Deno.writeTextFile(
    p.file,
    stringify(spec("three")).replace("kind: Pipeline", "kind: Pipeline\nextra_key: 1"),
  );
  await flowctl.waitForOutput("Pipeline file changed but is invalid");
  await flowctl.waitForOutput('unknown key "extra_key"');
  assert(/pipeline\.yaml:\d+:\d+: extra_key: unknown key/.test(flowctl.stdout), flowctl.stdout);

  // 3. A new component starts, a removed one stops; the rest stays.
  await write({
    ...spec("two", { sources: [component("extra", {})] }),
  });
  await flowctl.waitForOutput("Pipeline reloaded: started extra (new)");
  await waitFor(() => pidsOf(events, "extra").length === 1, "extra to start");
  await flowctl.waitForOutput("| extra ready"); // a new component's output is shown too
  assertEquals(running(), before, "neither the bad edit nor the new component restarted others");
  const removed = spec("two");
  removed.spec.sources = removed.spec.sources.filter((c) => c.id !== "other");
  await write(removed);
  await flowctl.waitForOutput("Pipeline reloaded: stopped other, extra (removed)");
  await waitFor(() => !isAlive(first.other![0]!), "other to stop");
  assertEquals(pidsOf(events, "proc").length, 2, "proc was not restarted again");

  const status = await runFlowctl(["status", p.file, "--output", "json"], { env: p.env });
  assert(!status.stdout.includes('"other"'), status.stdout);

  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, 0, result.stderr);
  assertStringIncludes(result.stdout, "Pipeline stopped successfully");
  for (const pid of recordedPids(events)) assert(!isAlive(pid), `pid ${pid} is gone`);
});
