/**
 * Logs and state under stress: endless lines, a full log disk, existing and unwritable folders,
 * and `flowctl logs` from another folder after the run.
 */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { pipelineYaml, runArgs, runFlowctl, writeTemp } from "./_helpers.ts";

const cap = 64 * 1024;

function uniqueName(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

/** A pipeline of one sink running `script` with `sh -c`, in a new temporary folder. */
async function shellPipeline(
  prefix: string,
  script: string,
): Promise<{ dir: string; file: string; env: Record<string, string> }> {
  const dir = await Deno.makeTempDir({ prefix: "flowctl-logs-robust-" });
  const file = await writeTemp(
    "pipeline.yaml",
    pipelineYaml(
      uniqueName(prefix),
      `  sinks:\n    - id: sink\n      command: [sh, -c, ${JSON.stringify(script)}]\n`,
    ),
    dir,
  );
  return { dir, file, env: { FLOWCTL_STATE_DIR: `${dir}/state` } };
}

Deno.test("flowctl run splits an endless line at 64 KiB in the log file", async () => {
  // 50 MiB without a newline, then the newline, then one more line.
  const { dir, file, env } = await shellPipeline(
    "long-line",
    `head -c ${50 * 1024 * 1024} /dev/zero | tr '\\000' a; echo; echo done`,
  );
  const result = await runFlowctl([...runArgs(file, `${dir}/logs`), "--quiet"], { env });
  assertEquals(result.code, 0, result.stderr);
  assertStringIncludes(result.stdout, "Pipeline completed successfully");
  const lines = (await Deno.readTextFile(`${dir}/logs/sink.log`)).split("\n");
  assertEquals(lines.pop(), "", "the file ends with a newline");
  assertEquals(lines.pop(), "done");
  assertEquals(lines.length, 50 * 1024 * 1024 / cap, "the line, in pieces of the cap");
  const piece = "a".repeat(cap);
  assert(lines.every((line) => line === piece), "every piece is 64 KiB of the line");
});
