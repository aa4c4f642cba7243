/**
 * What the Go flowctl runs, runs here: `apiVersion: v1` and lists under `config` are warnings
 * (errors with --strict), and components get FLOWCTL_HEARTBEAT_INTERVAL_MS and FLOWCTL_ATTEMPT.
 */
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { runArgs, runFlowctl, tempDir, writeTemp } from "./_helpers.ts";

const GO_FILE = `apiVersion: v1
kind: Pipeline
metadata:
  name: go-spellings
spec:
  sinks:
    - id: printer
      command: [sh, -c, 'echo "attempt=$$FLOWCTL_ATTEMPT ms=$$FLOWCTL_HEARTBEAT_INTERVAL_MS accounts=$$ACCOUNTS"; [ "$$FLOWCTL_ATTEMPT" = 2 ]']
      restart: on-failure
      config:
        accounts: [GA1, GA2, 3]
`;

Deno.test("validate accepts the Go flowctl's apiVersion v1 and config lists with warnings; --strict refuses them", async () => {
  await using dir = await tempDir();
  const file = await writeTemp("go.yaml", GO_FILE, dir.path);
  const relaxed = await runFlowctl(["validate", file]);
  assertEquals(relaxed.code, 0, relaxed.stderr);
  assertStringIncludes(relaxed.stderr, `apiVersion "v1" is the Go flowctl's spelling`);
  assertStringIncludes(
    relaxed.stderr,
    `spec.sinks[0].config.accounts: a list under config becomes comma-separated text ("GA1,GA2,3")`,
  );
  const strict = await runFlowctl(["validate", file, "--strict"]);
  assertEquals(strict.code, 2);
  assertStringIncludes(strict.stderr, `go.yaml:1:13: apiVersion: apiVersion "v1"`);
});

Deno.test("flowctl run gives components FLOWCTL_ATTEMPT (counting restarts), FLOWCTL_HEARTBEAT_INTERVAL_MS and config lists as text", async () => {
  await using dir = await tempDir();
  const file = await writeTemp("go.yaml", GO_FILE, dir.path);
  const result = await runFlowctl(
    [...runArgs(file, `${dir.path}/logs`), "--heartbeat-interval", "3s"],
    { env: { FLOWCTL_STATE_DIR: `${dir.path}/state` } },
  );
  assertEquals(result.code, 0, `${result.stdout}\n${result.stderr}`);
  assertStringIncludes(result.stdout, "printer | attempt=1 ms=3000 accounts=GA1,GA2,3");
  assertStringIncludes(result.stdout, "printer | attempt=2 ms=3000 accounts=GA1,GA2,3");
  assertStringIncludes(result.stdout, "Pipeline completed successfully");
});
