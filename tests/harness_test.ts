/** The test harness itself: disposal stops flowctl and its components and removes temp folders. */
import { assert, assertEquals } from "./assert.ts";
import {
  fixture,
  FlowctlProcess,
  isAlive,
  recordedPids,
  tempDir,
  testPipeline,
  uniqueName,
  waitFor,
} from "./_helpers.ts";

Deno.test("tempDir() is removed with its content at the end of the scope", async () => {
  let path = "";
  {
    await using dir = await tempDir();
    path = dir.path;
    await Deno.mkdir(`${path}/nested`);
    await Deno.writeTextFile(`${path}/nested/file.txt`, "x");
  }
  assertEquals(await Deno.stat(path).then(() => true, () => false), false);
});

Deno.test("FlowctlProcess left running at the end of its scope is stopped with its components", async () => {
  let pids: number[] = [];
  let flowctlPid = 0;
  let dir = "";
  {
    await using p = await testPipeline(({ events }) => ({
      name: uniqueName("harness"),
      sources: [fixture("src", { EVENTS_FILE: events, GRANDCHILD: 1 })],
    }));
    dir = p.dir;
    await using flowctl = new FlowctlProcess(p.args, { env: p.env });
    flowctlPid = flowctl.child.pid;
    await flowctl.waitForOutput("src ready");
    await waitFor(() => recordedPids(p.events).length === 2, "the fixture and its grandchild");
    pids = recordedPids(p.events);
  }
  assertEquals(isAlive(flowctlPid), false, "flowctl stopped");
  assert(pids.length === 2);
  assertEquals(pids.filter(isAlive), [], "components stopped");
  assertEquals(await Deno.stat(dir).then(() => true, () => false), false, "folder removed");
});
