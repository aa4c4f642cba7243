/**
 * The pipeline files of obsrvr-stellar-components (tests/fixtures/upstream/, copied unchanged)
 * move their data under flowctl: their `./bin/...` programs are fixture components on the
 * flowctl-sdk v1 wire, and only their ports are moved to free ones when the test runs.
 */
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { runFlowctl, tempDir } from "./_helpers.ts";
import {
  freeListenPort,
  ledgersFrom,
  pipelineProcesses,
  SDK_FIXTURE,
  sinkEvents,
} from "./_sdk_fixture.ts";

const UPSTREAM = new URL("./fixtures/upstream/", import.meta.url).pathname;

/** The role of each `./bin/` program of those files. */
function roleOf(program: string): "source" | "processor" | "sink" {
  if (program.endsWith("-source")) return "source";
  if (program.endsWith("-processor")) return "processor";
  return "sink";
}

/** The file with every port (GRPC_PORT, PORT, HEALTH_PORT, FLOWCTL_ENDPOINT) moved to a free one. */
function movePorts(text: string): { text: string; controlPlanePort: number } {
  const moved = new Map<string, number>();
  const to = (port: string) => {
    let free = moved.get(port);
    if (free === undefined) moved.set(port, free = freeListenPort());
    return free;
  };
  const replaced = text
    .replace(/(GRPC_PORT|HEALTH_PORT): "(\d+)"/g, (_, key, port) => `${key}: "${to(port)}"`)
    .replace(/PORT: ":(\d+)"/g, (_, port) => `PORT: ":${to(port)}"`)
    .replace(
      /FLOWCTL_ENDPOINT: "127\.0\.0\.1:(\d+)"/g,
      (_, port) => `FLOWCTL_ENDPOINT: "127.0.0.1:${to(port)}"`,
    );
  const endpoint = /FLOWCTL_ENDPOINT: "127\.0\.0\.1:(\d+)"/.exec(replaced);
  return { text: replaced, controlPlanePort: Number(endpoint?.[1]) };
}

/** `./bin/<program>` scripts that run the fixture in the program's role. */
async function writePrograms(dir: string, text: string): Promise<string[]> {
  const programs = [...new Set([...text.matchAll(/\.\/bin\/([a-z-]+)/g)].map((m) => m[1]!))];
  await Deno.mkdir(`${dir}/bin`, { recursive: true });
  for (const program of programs) {
    const output = roleOf(program) === "sink" ? `SINK_OUTPUT="${dir}/${program}.out" ` : "";
    await Deno.writeTextFile(
      `${dir}/bin/${program}`,
      `#!/bin/sh\n${output}exec node "${SDK_FIXTURE}" ${roleOf(program)}\n`,
      { mode: 0o755 },
    );
  }
  return programs;
}

Deno.test("the obsrvr-stellar-components pipeline files move their ledgers to every sink", async (t) => {
  const files = [...Deno.readDirSync(UPSTREAM)].map((e) => e.name).filter((n) =>
    n.startsWith("obsrvr-")
  ).sort();
  assertEquals(files.length, 7);
  for (const file of files) {
    await t.step(file, async () => {
      await using folder = await tempDir("flowctl-upstream-");
      const dir = folder.path;
      const original = await Deno.readTextFile(`${UPSTREAM}${file}`);
      const { text, controlPlanePort } = movePorts(original);
      await Deno.writeTextFile(`${dir}/pipeline.yaml`, text);
      const programs = await writePrograms(dir, text);
      const start = Number(/START_LEDGER: "(\d+)"/.exec(text)?.[1]);
      const end = Number(/END_LEDGER: "(\d+)"/.exec(text)?.[1]);
      const name = /name: ([a-z0-9-]+)/.exec(text)?.[1] ?? "";
      const result = await runFlowctl([
        "run",
        "pipeline.yaml",
        "--log-dir",
        `${dir}/logs`,
        "--control-plane-port",
        String(controlPlanePort),
      ], { cwd: dir, env: { FLOWCTL_STATE_DIR: `${dir}/state` } });
      assertEquals(result.code, 0, `${result.stdout}\n${result.stderr}`);
      assertStringIncludes(result.stdout, "All sinks finished; stopping pipeline");
      const expected = Array.from({ length: end - start + 1 }, (_, i) => start + i);
      for (const sink of programs.filter((p) => roleOf(p) === "sink")) {
        const events = sinkEvents(dir, sink);
        assertEquals(ledgersFrom(events, "raw-ledger-source"), expected, sink);
        assertEquals(
          events.map(([, type]) => type),
          expected.map(() => "stellar.ledger.v1>stellar-ledger-processor"),
        );
      }
      assertEquals(pipelineProcesses(name), []);
    });
  }
});
