/**
 * Pipeline files written for the Go flowctl, run as processes: `config` as variables, secrets
 * by path, replicas, depends_on, health_endpoint, spec.pipelines, drivers and --strict.
 */
import { ExitCode } from "../src/cli/exit_code.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import {
  fixture,
  FIXTURE_COMMAND,
  FlowctlProcess,
  freePort,
  isAlive,
  pipelineYaml,
  readEvents,
  runArgs,
  runFlowctl,
  tempDir,
  testPipeline,
  uniqueName,
  writeTemp,
} from "./_helpers.ts";

const SECRET = "s3cr3t-content-never-shown";

/**
 * A pipeline file of `text` (or of `text(folder)`) in a temporary folder of its own, removed by
 * `await using`; for the tests about the text as the Go flowctl's users write it (values as
 * written, located messages).
 */
async function pipelineText(text: string | ((dir: string) => string)) {
  const folder = await tempDir("flowctl-gocompat-");
  const dir = folder.path;
  const file = await writeTemp(
    "pipeline.yaml",
    typeof text === "string" ? text : text(dir),
    dir,
  );
  return {
    dir,
    file,
    logDir: `${dir}/logs`,
    stateDir: `${dir}/state`,
    env: { FLOWCTL_STATE_DIR: `${dir}/state` },
    args: runArgs(file, `${dir}/logs`),
    [Symbol.asyncDispose]: () => folder[Symbol.asyncDispose](),
  };
}

Deno.test("flowctl run gives config as variables, secrets by path, and runs replicas, depends_on and spec.pipelines", async () => {
  const healthPort = freePort();
  await using p = await pipelineText((dir) =>
    `apiVersion: flowctl/v1
kind: Pipeline
metadata:
  name: ${uniqueName("gocompat-proc")}
  namespace: team-a
  annotations: { owner: data }
spec:
  description: every key of the Go flowctl, as processes
  driver: local
  sources:
    - id: src
      type: source
      command: ${FIXTURE_COMMAND}
      config:
        network_passphrase: "Test SDF Network ; September 2015"
        startLedger: 2187805
        enabled: true
        ratio: 0.50
      env:
        EVENTS_FILE: ${dir}/events.log
        HEALTH_PORT: "${healthPort}"
        PRINT_ENV: NETWORK_PASSPHRASE,START_LEDGER,ENABLED,RATIO,TOKEN_FILE,HOME_SEEN
        HOME_SEEN: $HOME
      secrets:
        - name: token
          host_path: keys/token.txt
          env: TOKEN_FILE
          required: true
      health_endpoint: "http://src:${healthPort}/health"
      output_event_types: [stellar.ledger]
  processors:
    - id: workers
      command: ${FIXTURE_COMMAND}
      inputs: [src]
      input_event_types: [stellar.ledger]
      replicas: 2
      restart_policy: "no"
      env: { EVENTS_FILE: ${dir}/events.log, PRINT_ENV: FLOWCTL_REPLICA, EXIT_AFTER_MS: "60000" }
  pipelines:
    - id: batch
      type: pipeline
      command: ${FIXTURE_COMMAND}
      depends_on: [src]
      env: { EVENTS_FILE: ${dir}/events.log, EXIT_AFTER_MS: "1500" }
`
  );
  const { dir } = p;
  const events = `${dir}/events.log`;
  await Deno.mkdir(`${dir}/keys`);
  await Deno.writeTextFile(`${dir}/keys/token.txt`, SECRET);
  const result = await runFlowctl(p.args, { env: p.env });
  assertEquals(result.code, ExitCode.ok, result.stderr);
  const out = result.stdout;
  // config → UPPER_SNAKE_CASE variables, values as written.
  assertStringIncludes(out, "| NETWORK_PASSPHRASE=Test SDF Network ; September 2015\n");
  assertStringIncludes(out, "| START_LEDGER=2187805\n");
  assertStringIncludes(out, "| ENABLED=true\n");
  assertStringIncludes(out, "| RATIO=0.50\n");
  assertStringIncludes(out, `| HOME_SEEN=${Deno.env.get("HOME")}\n`);
  // The secret's path, resolved against the file's folder; never its content.
  assertStringIncludes(out, `| TOKEN_FILE=${dir}/keys/token.txt\n`);
  // health_endpoint names the component: probed at its own address.
  assertStringIncludes(out, "Component src health check passed");
  // Two replicas, each told which it is, in one component's output, each line tagged with it.
  assertStringIncludes(out, "workers | [1] FLOWCTL_REPLICA=1\n");
  assertStringIncludes(out, "workers | [2] FLOWCTL_REPLICA=2\n");
  // spec.pipelines runs like a sink: it finishing completes the pipeline.
  assertStringIncludes(out, "Pipeline completed successfully");
  // depends_on orders like inputs: batch starts once src is healthy, so after src was ready.
  const recorded = readEvents(events);
  const srcReady = recorded.find(([id, kind]) => id === "src" && kind === "ready")?.[2] ?? Infinity;
  const batchStart = recorded.find(([id, kind]) => id === "batch" && kind === "start")?.[2] ?? 0;
  assert(srcReady <= batchStart, JSON.stringify(recorded));
  assertEquals(recorded.filter(([id, kind]) => id === "workers" && kind === "start").length, 2);
  // Nothing left running: every pid the components recorded is gone.
  for (const [, , pid] of readEvents(events).filter(([, kind]) => kind === "pid")) {
    assertEquals(isAlive(pid), false, `pid ${pid} still alive`);
  }
  // The secret's content is nowhere: output, logs, state.
  assert(!result.stdout.includes(SECRET) && !result.stderr.includes(SECRET));
  for (const entry of Deno.readDirSync(`${dir}/logs`)) {
    const text = await Deno.readTextFile(`${dir}/logs/${entry.name}`);
    assert(!text.includes(SECRET), `${entry.name} shows the secret`);
  }
  for (const entry of Deno.readDirSync(p.stateDir)) {
    if (!entry.isFile) continue;
    const text = await Deno.readTextFile(`${p.stateDir}/${entry.name}`);
    assert(!text.includes(SECRET), `state ${entry.name} shows the secret`);
  }
});

Deno.test("flowctl run refuses a required secret that does not exist, starting nothing", async () => {
  await using p = await testPipeline(({ events }) => ({
    name: uniqueName("gocompat-secret"),
    sinks: [
      fixture("src", { EVENTS_FILE: events, EXIT_AFTER_MS: 100 }, {
        secrets: [{
          name: "db-password",
          host_path: "./missing/password.txt",
          env: "DB_PASSWORD_FILE",
          required: true,
        }],
      }),
    ],
  }));
  const result = await runFlowctl(p.args, { env: p.env });
  assertEquals(result.code, ExitCode.failure, result.stderr);
  assertStringIncludes(
    result.stderr,
    `component "src": secret "db-password" is required but "${p.dir}/missing/password.txt" does not exist`,
  );
  assertEquals(readEvents(p.events), []);
});

Deno.test("flowctl refuses process replicas on a fixed port (exit 2)", async () => {
  await using p = await testPipeline({
    name: "gocompat-replica-ports",
    driver: "process",
    sources: [{
      id: "api",
      command: ["server"],
      replicas: 3,
      ports: [{ name: "http", containerPort: 8080 }],
    }],
  });
  for (const command of ["validate", "run"]) {
    const result = await runFlowctl([command, p.file], { env: p.env });
    assertEquals(result.code, ExitCode.usage, result.stderr);
    assertStringIncludes(
      result.stderr,
      'spec.sources[0].replicas: component "api" has 3 replicas but listens on fixed port 8080, which processes cannot share',
    );
  }
});

Deno.test("flowctl validate warns about a driver of another tool; run asks for --orchestrator (exit 2)", async () => {
  await using p = await pipelineText(pipelineYaml(
    "gocompat-k8s",
    "  driver: kubernetes\n  sources:\n    - id: src\n      image: source:latest\n",
  ));
  const { file } = p;
  const validate = await runFlowctl(["validate", file, "--offline"], { env: p.env });
  assertEquals(validate.code, ExitCode.ok, validate.stderr);
  assertStringIncludes(
    validate.stderr,
    "warning: " + file + ':6:11: spec.driver: driver "kubernetes" belongs to another tool',
  );
  const run = await runFlowctl(["run", file, "--control-plane-port", "0"], { env: p.env });
  assertEquals(run.code, ExitCode.usage, run.stderr);
  assertStringIncludes(
    run.stderr,
    'is written for driver "kubernetes", which flowctl does not run',
  );
  assertStringIncludes(run.stderr, "--orchestrator container");
});

Deno.test("flowctl validate maps the Go drivers local and docker", async () => {
  for (const [driver, kind] of [["local", "process"], ["docker", "container"]]) {
    await using p = await pipelineText(pipelineYaml(
      "gocompat-driver",
      `  driver: ${driver}\n  sources:\n    - id: src\n      command: [sh]\n      image: x:1\n`,
    ));
    const result = await runFlowctl(["validate", p.file, "--offline"], { env: p.env });
    assertEquals(result.code, ExitCode.ok, result.stderr);
    assertStringIncludes(result.stdout, `1 level (${kind})`);
  }
});

Deno.test("flowctl validate warns when an input's event types never meet; --strict refuses", async () => {
  await using p = await pipelineText(pipelineYaml(
    "gocompat-types",
    `  sources:
    - id: src
      command: [sh]
      output_event_types: [stellar.ledger]
  sinks:
    - id: sink
      command: [sh]
      inputs: [src]
      input_event_types: [token.transfer, contract.event]
`,
  ));
  const { file, env } = p;
  const expected =
    `${file}:13:16: spec.sinks[0].inputs[0]: input "src" produces "stellar.ledger" but "sink" accepts "token.transfer", "contract.event": no event type in common`;
  const lenient = await runFlowctl(["validate", file], { env });
  assertEquals(lenient.code, ExitCode.ok, lenient.stderr);
  assertStringIncludes(lenient.stderr, `warning: ${expected}`);
  const strict = await runFlowctl(["validate", "--strict", file], { env });
  assertEquals(strict.code, ExitCode.usage, strict.stderr);
  assertStringIncludes(strict.stderr, expected);
  const run = await runFlowctl(["run", "--strict", file, "--control-plane-port", "0"], { env });
  assertEquals(run.code, ExitCode.usage, run.stderr);
  assertStringIncludes(run.stderr, expected);
});

Deno.test("flowctl validate reports unknown keys of the new sections with did-you-mean", async () => {
  await using p = await pipelineText(pipelineYaml(
    "gocompat-typos",
    `  pipelines:
    - id: p
      image: x:1
      volumes: [{ host_pth: ./data, container_path: /data }]
      secrets: [{ name: s, host_path: ./s, requird: true }]
      resources: { limits: { memroy: 1Gi } }
`,
  ));
  const { file } = p;
  const result = await runFlowctl(["validate", "--orchestrator", "container", file], {
    env: p.env,
  });
  assertEquals(result.code, ExitCode.usage, result.stderr);
  assertStringIncludes(
    result.stderr,
    `${file}:9:19: spec.pipelines[0].volumes[0].host_pth: unknown key "host_pth" (did you mean "host_path"?)`,
  );
  assertStringIncludes(
    result.stderr,
    `spec.pipelines[0].secrets[0].requird: unknown key "requird" (did you mean "required"?)`,
  );
  assertStringIncludes(
    result.stderr,
    `spec.pipelines[0].resources.limits.memroy: unknown key "memroy" (did you mean "memory"?)`,
  );
});

Deno.test("flowctl schema covers the keys of the Go flowctl", async () => {
  const result = await runFlowctl(["schema"]);
  assertEquals(result.code, ExitCode.ok, result.stderr);
  const schema = JSON.stringify(JSON.parse(result.stdout));
  for (
    const key of [
      "namespace",
      "annotations",
      "pipelines",
      "input_event_types",
      "output_event_types",
      "volumes",
      "mountPath",
      "container_path",
      "secrets",
      "replicas",
      "resources",
      "depends_on",
      "restart_policy",
      "health_endpoint",
    ]
  ) assertStringIncludes(schema, `"${key}"`);
});

Deno.test("flowctl status --output json keeps namespace, labels and annotations, never a secret's content", async () => {
  const name = uniqueName("gocompat-status");
  await using p = await pipelineText(`apiVersion: flowctl/v1
kind: Pipeline
metadata:
  name: ${name}
  namespace: obsrvr
  labels: { environment: test }
  annotations: { description: "kept for status" }
spec:
  driver: process
  sources:
    - id: src
      command: ${FIXTURE_COMMAND}
      secrets: [{ name: token, host_path: ./token, env: TOKEN_FILE, required: true }]
`);
  await Deno.writeTextFile(`${p.dir}/token`, SECRET);
  await using flowctl = new FlowctlProcess(p.args, { env: p.env });
  await flowctl.waitForOutput("Pipeline started successfully");
  const status = await runFlowctl(["status", p.file, "--output", "json"], { env: p.env });
  assertEquals(status.code, ExitCode.ok, status.stderr);
  const [view] = JSON.parse(status.stdout).pipelines;
  assertEquals(view.pipeline, name);
  assertEquals(view.namespace, "obsrvr");
  assertEquals(view.labels, { environment: "test" });
  assertEquals(view.annotations, { description: "kept for status" });
  assert(!status.stdout.includes(SECRET));
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, ExitCode.ok, result.stderr);
});

Deno.test("flowctl validate warns once that volumes and resources do not apply to processes", async () => {
  await using p = await pipelineText(pipelineYaml(
    "gocompat-process-only",
    `  driver: local
  sources:
    - id: a
      command: [sh]
      volumes: [{ host_path: ./data, container_path: /data }]
      resources: { limits: { memory: 1Gi } }
    - id: b
      command: [sh]
      volumes: [{ name: cache, mountPath: /cache }]
`,
  ));
  const { file } = p;
  const result = await runFlowctl(["validate", file], { env: p.env });
  assertEquals(result.code, ExitCode.ok, result.stderr);
  const warnings = result.stderr.split("\n").filter((line) => line.startsWith("warning:"));
  assertEquals(warnings, [
    `warning: ${file}:10:16: spec.sources[0].volumes: "volumes" apply to containers only and are ignored when running as processes ("a", "b")`,
    `warning: ${file}:11:18: spec.sources[0].resources: "resources" apply to containers only and are ignored when running as processes ("a")`,
  ]);
});
