/** Issue 25's replica findings: status shows 2/2 and each replica, logs tag lines, exec picks one. */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { ExitCode } from "../src/cli/exit_code.ts";
import {
  fixture,
  FlowctlProcess,
  isAlive,
  recordedPids,
  runFlowctl,
  testPipeline,
  uniqueName,
} from "./_helpers.ts";

Deno.test("replicas: status shows 2/2 with each replica's pid and memory, logs tag lines, exec --replica", async () => {
  await using p = await testPipeline(({ events }) => ({
    name: uniqueName("replicas"),
    sources: [
      fixture("workers", { EVENTS_FILE: events, PRINT_ENV: "FLOWCTL_REPLICA" }, {
        replicas: 2,
        stop_grace_period: "2s",
      }),
    ],
  }));
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  await flowctl.waitForOutput("Pipeline started successfully");
  await flowctl.waitForOutput("workers | [2] FLOWCTL_REPLICA=2");
  const env = p.env;

  const text = await runFlowctl(["status"], { env });
  assertEquals(text.code, ExitCode.ok, text.stderr);
  assert(/\nworkers\s+running 2\/2\s/.test(text.stdout), text.stdout);
  assert(
    / {2}workers replicas: 1 pid \d+ [\d.]+[KMG], 2 pid \d+ [\d.]+[KMG]\n/.test(text.stdout),
    text.stdout,
  );
  const json = JSON.parse((await runFlowctl(["status", "--output", "json"], { env })).stdout);
  const workers = json.pipelines[0].components[0];
  assertEquals(workers.replicas.map((r: { replica: number; up: boolean }) => [r.replica, r.up]), [
    [1, true],
    [2, true],
  ]);
  assert(workers.replicas.every((r: { rssBytes: number }) => r.rssBytes > 0), text.stdout);
  assertEquals(
    workers.rssBytes,
    workers.replicas[0].rssBytes + workers.replicas[1].rssBytes,
    "the component's memory is its replicas' sum",
  );

  const logs = await runFlowctl(["logs", "workers"], { env });
  assertStringIncludes(logs.stdout, "workers | [1] FLOWCTL_REPLICA=1\n");
  assertStringIncludes(logs.stdout, "workers | [2] FLOWCTL_REPLICA=2\n");

  const second = await runFlowctl(
    ["exec", "workers", "--replica", "2", "--", "sh", "-c", "echo $FLOWCTL_REPLICA"],
    { env },
  );
  assertEquals([second.code, second.stdout], [0, "2\n"], second.stderr);
  const first = await runFlowctl(["exec", "workers", "--", "sh", "-c", "echo $FLOWCTL_REPLICA"], {
    env,
  });
  assertEquals([first.code, first.stdout], [0, "1\n"], first.stderr);
  const none = await runFlowctl(["exec", "workers", "--replica", "3", "--", "true"], { env });
  assertEquals(none.code, ExitCode.usage);
  assertStringIncludes(
    none.stderr,
    'invalid --replica "3": component "workers" has 2 replicas (1-2)',
  );

  flowctl.kill("SIGINT");
  assertEquals((await flowctl.result()).code, ExitCode.ok);
  for (const pid of recordedPids(p.events)) assert(!isAlive(pid), `pid ${pid} is gone`);
});
