import { assert, assertEquals } from "../../tests/assert.ts";
import { readRunState, type RunState } from "./state_file.ts";
import { StateWriter } from "./state_writer.ts";

Deno.test("StateWriter.flush() coalesces a burst: n flushes cost at most two snapshots, the last one written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "flowctl-state-writer-" });
  const previous = Deno.env.get("FLOWCTL_STATE_DIR");
  Deno.env.set("FLOWCTL_STATE_DIR", dir);
  try {
    let builds = 0;
    let version = 0;
    const writer = new StateWriter((): RunState => {
      builds++;
      return {
        version: 1,
        pipeline: "burst",
        file: "/p.yaml",
        runId: "r",
        orchestrator: "process",
        flowctl: { pid: Deno.pid },
        logDir: dir,
        updatedAt: version,
        components: [],
      };
    });
    const flushes: Promise<void>[] = [];
    for (version = 1; version <= 1_000; version++) flushes.push(writer.flush());
    version = 1_000;
    await Promise.all(flushes);
    await writer.close();
    assert(builds <= 2, `${builds} snapshots were built for one burst`);
    assertEquals((await readRunState("burst"))?.updatedAt, 1_000);
  } finally {
    if (previous === undefined) Deno.env.delete("FLOWCTL_STATE_DIR");
    else Deno.env.set("FLOWCTL_STATE_DIR", previous);
    await Deno.remove(dir, { recursive: true });
  }
});
