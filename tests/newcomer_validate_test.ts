/** Issue 25's `validate` findings, as a newcomer meets them: every problem at once, drivers. */
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { ExitCode } from "../src/cli/exit_code.ts";
import { runFlowctl, tempDir, writeTemp } from "./_helpers.ts";

const HEADER = "apiVersion: flowctl/v1\nkind: Pipeline\nmetadata:\n  name: demo\nspec:\n";
const UPSTREAM_INVALID =
  "/work/shared/upstream-pipelines/withObsrvr+flowctl--schemas_cue_invalid-pipeline.yaml";

Deno.test("flowctl validate reports a misspelt key, bad durations, an unknown input, a dangling reference and a missing env_file together", async () => {
  await using dir = await tempDir();
  const file = await writeTemp(
    "many.yaml",
    HEADER + `  sources:
    - id: web
      command: [sleep, "100"]
      env_file: missing.env
      helth: { interval: 1s }
      health:
        http: { port: 8080 }
        timeout: 0s
        start_period: 25h
  sinks:
    - id: sink
      command: [sleep, "100"]
      inputs: [webb]
      env:
        X: \${components.ghost.endpoint}
`,
    dir.path,
  );
  const result = await runFlowctl(["validate", file]);
  assertEquals(result.code, ExitCode.usage);
  assertEquals(result.stderr.trimEnd().split("\n"), [
    `${file}:9:17: spec.sources[0].env_file: cannot read env_file "missing.env" (${dir.path}/missing.env): no such file`,
    `${file}:10:7: spec.sources[0].helth: unknown key "helth" (did you mean "health"?)`,
    `${file}:13:18: spec.sources[0].health.timeout: duration "0s" is too short: at least 1ms`,
    `${file}:14:23: spec.sources[0].health.start_period: duration "25h" is too long: at most 24h`,
    `${file}:18:16: spec.sinks[0].inputs[0]: unknown input "webb" (did you mean "web"?)`,
    `${file}:20:12: spec.sinks[0].env.X: unknown component "ghost" in \${components.ghost.endpoint}`,
  ]);
});

Deno.test({
  name: "flowctl validate shows each of the five mistakes of upstream's invalid-pipeline.yaml",
  ignore: !exists(UPSTREAM_INVALID),
}, async () => {
  const result = await runFlowctl(["validate", UPSTREAM_INVALID]);
  assertEquals(result.code, ExitCode.usage);
  const lines = result.stderr.trimEnd().split("\n").map((line) =>
    line.replace(UPSTREAM_INVALID, "F")
  );
  assertEquals(lines, [
    'warning: F:13:11: spec.processors[0].id: processor "processor1" has no inputs, so nothing reaches it: add "inputs", or make it a source',
    'F:6:11: spec.driver: unknown driver "unsupported-driver": use "process" (or "local"), "container" (or "docker") or "swarm"',
    'F:10:7: spec.sources[0].health_check: health_check needs "health_port" (or a port named "health")',
    "F:16:17: spec.processors[0].replicas: a replica count must be at least 1, got -1",
    'F:20:15: spec.sinks[0].inputs: "inputs" is empty: list the components "sink1" reads from, or remove the key',
  ]);
});

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

Deno.test("flowctl validate refuses a misspelt driver with a suggestion, and the JSON Schema lists the drivers", async () => {
  await using dir = await tempDir();
  const file = await writeTemp(
    "driver.yaml",
    HEADER + "  driver: procces\n  sources:\n    - id: a\n      command: [sleep, '1']\n",
    dir.path,
  );
  const result = await runFlowctl(["validate", file]);
  assertEquals(result.code, ExitCode.usage);
  assertEquals(
    result.stderr.trim(),
    `${file}:6:11: spec.driver: unknown driver "procces" (did you mean "process"?): use "process" (or "local"), "container" (or "docker") or "swarm"`,
  );
  assertEquals(result.stdout, "");

  const schema = await runFlowctl(["schema"]);
  assertEquals(schema.code, ExitCode.ok);
  const driver = JSON.parse(schema.stdout).properties.spec.properties.driver;
  assertEquals(driver.enum, [
    "process",
    "local",
    "container",
    "docker",
    "swarm",
    "kubernetes",
    "nomad",
  ]);
  assertStringIncludes(schema.stdout, '"driver"');
});

Deno.test("flowctl validate runs run's preflight: a misspelt command and a missing working_dir, nothing started", async () => {
  await using dir = await tempDir();
  // A tool of our own on PATH, so the suggestion does not depend on what this machine has.
  await Deno.mkdir(`${dir.path}/bin`);
  await Deno.writeTextFile(`${dir.path}/bin/flowtool`, "#!/bin/sh\n", { mode: 0o755 });
  const file = await writeTemp(
    "host.yaml",
    HEADER + `  sources:
    - id: web
      command: [flowtol, --serve]
    - id: api
      command: [sh, -c, "exit 0"]
      working_dir: nowhere
`,
    dir.path,
  );
  const env = { PATH: `${dir.path}/bin:/usr/bin:/bin` };
  const result = await runFlowctl(["validate", file], { env });
  assertEquals(result.code, ExitCode.usage);
  const lines = result.stderr.trimEnd().split("\n");
  assertEquals(lines, [
    `${file}: component "web": command "flowtol" not found on PATH (did you mean "flowtool"?)`,
    `${file}: component "api": working_dir "${dir.path}/nowhere" does not exist`,
  ]);
  assertEquals(result.stdout, "");
});

Deno.test("flowctl validate --offline checks a container file without the engine or a registry", async () => {
  const text = HEADER +
    "  driver: container\n  sources:\n    - id: a\n      image: nowhere.invalid/acme/a:1\n";
  // An engine that cannot be reached: without --offline that is the one problem.
  const env = { DOCKER_HOST: "unix:///nonexistent/docker.sock" };
  const online = await runFlowctl(["validate", "-"], { stdin: text, env });
  assertEquals(online.code, ExitCode.usage, online.stderr);
  assertStringIncludes(online.stderr, "/nonexistent/docker.sock");
  const offline = await runFlowctl(["validate", "-", "--offline"], { stdin: text, env });
  assertEquals(offline.code, ExitCode.ok, offline.stderr);
  assertEquals(offline.stdout, '- is valid: pipeline "demo", 1 component in 1 level (container)\n');
});
