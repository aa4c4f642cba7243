import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { ConfigError } from "./config_error.ts";
import { parsePipeline, type ParsePipelineOptions } from "./parse_pipeline.ts";
import { isComponentId } from "./schema.ts";

const base: ParsePipelineOptions = { file: "p.yaml", dir: "/work", env: {} };

function issuesOf(text: string, options: Partial<ParsePipelineOptions> = {}) {
  try {
    parsePipeline(text, { ...base, ...options });
  } catch (error) {
    if (error instanceof ConfigError) {
      return error.issues.map((i) => `${i.line}:${i.column} ${i.path} ${i.message}`);
    }
    throw error;
  }
  return [];
}

const header = "apiVersion: flowctl/v1\nkind: Pipeline\nmetadata:\n  name: demo\nspec:\n";

Deno.test("parsePipeline() builds the model with defaults and levels", () => {
  const { pipeline } = parsePipeline(
    header + `  sources:
    - id: src
      command: "./bin/source --flag 'a b'"
      ports: [{ name: grpc, containerPort: 50051 }]
  processors:
    - id: proc
      inputs: [src]
      command: [proc]
      args: [--x]
      working_dir: sub
      env: { SRC: "\${components.src.endpoint}", N: 5 }
      health_check: /health
      health_port: 8089
`,
    base,
  );
  assertEquals(pipeline.levels, [["src"], ["proc"]]);
  const [src, proc] = pipeline.components;
  assertEquals(src?.argv, ["./bin/source", "--flag", "a b"]);
  assertEquals(proc?.argv, ["proc", "--x"]);
  assertEquals(proc?.workingDir, "/work/sub");
  assertEquals(proc?.env, { SRC: "127.0.0.1:50051", N: "5" });
  assertEquals(proc?.health?.probe, { type: "http", path: "/health", port: 8089 });
  assertEquals(proc?.restart, "no");
  assertEquals(proc?.stopGraceMs, 10_000);
});

Deno.test("parsePipeline() locates each problem by line, column and path", async (t) => {
  const cases: [string, string, string][] = [
    [
      "unknown key with a suggestion",
      "  sources:\n    - id: a\n      comand: [x]\n",
      '8:7 spec.sources[0].comand unknown key "comand" (did you mean "command"?)',
    ],
    [
      "wrong type",
      "  sources:\n    - id: a\n      command: [x]\n      max_restarts: lots\n",
      '9:21 spec.sources[0].max_restarts expected a restart count, got "lots"',
    ],
    [
      "missing required field",
      "  sources:\n    - command: [x]\n",
      '7:7 spec.sources[0].id missing required key "id"',
    ],
    [
      "bad id",
      "  sources:\n    - id: Big_Source\n      command: [x]\n",
      '7:11 spec.sources[0].id invalid id "Big_Source": use lowercase letters, digits, "-", "_" and "." and start with a letter or digit',
    ],
    [
      "bad duration",
      "  sources:\n    - id: a\n      command: [x]\n      stop_grace_period: 10x\n",
      '9:26 spec.sources[0].stop_grace_period invalid duration "10x": use a number with a unit (ms, s, m, h), like "10s"',
    ],
    [
      "bad port",
      "  sources:\n    - id: a\n      command: [x]\n      ports: [{ containerPort: 70000 }]\n",
      "9:32 spec.sources[0].ports[0].containerPort a port number (1-65535) must be at most 65535, got 70000",
    ],
    [
      "duplicate id",
      "  sources:\n    - id: a\n      command: [x]\n    - id: a\n      command: [x]\n",
      '9:11 spec.sources[1].id duplicate id "a" (first used at spec.sources[0])',
    ],
    [
      "unknown input",
      "  sources:\n    - id: alpha\n      command: [x]\n  sinks:\n    - id: b\n      command: [x]\n      inputs: [alpah]\n",
      '12:16 spec.sinks[0].inputs[0] unknown input "alpah" (did you mean "alpha"?)',
    ],
    [
      "cycle",
      "  processors:\n    - id: a\n      command: [x]\n      inputs: [b]\n    - id: b\n      command: [x]\n      inputs: [a]\n",
      "9:15 spec.processors[0].inputs dependency cycle: a -> b -> a",
    ],
    [
      "process mode needs command",
      "  sources:\n    - id: a\n      type: source\n",
      '7:7 spec.sources[0] component "a" needs a "command" (or an "image", or a registry "type" such as "name@v1") to run as a process',
    ],
    [
      "same host port",
      "  sources:\n    - id: a\n      command: [x]\n      ports: [{ containerPort: 80 }]\n    - id: b\n      command: [x]\n      ports: [{ containerPort: 81, hostPort: 80 }]\n",
      '12:15 spec.sources[1].ports[0] host port 80 is already claimed by component "a"',
    ],
    [
      "tab indentation",
      "  sources:\n\t- id: a\n",
      "7:1  YAML syntax error: Tabs are not allowed as indentation",
    ],
    [
      "unclosed quote",
      "  sources:\n    - id: 'a\n",
      "8:1  YAML syntax error: Missing closing 'quote",
    ],
    [
      "bad indent",
      "  sources:\n   - id: a\n     command: y\n    env: {}\n",
      "9:1  YAML syntax error: Sequence item without - indicator",
    ],
    [
      "required variable",
      '  sources:\n    - id: a\n      command: [x]\n      env: { A: "${NEED:?set NEED first}" }\n',
      '9:17 spec.sources[0].env.A required variable "NEED" is unset or empty: set NEED first',
    ],
    [
      "unknown component reference",
      '  sources:\n    - id: a\n      command: [x]\n      env: { A: "${components.b.host}" }\n',
      '9:17 spec.sources[0].env.A unknown component "b" in ${components.b.host}',
    ],
  ];
  for (const [name, body, expected] of cases) {
    await t.step(name, () => assertEquals(issuesOf(header + body)[0], expected));
  }
});

Deno.test("parsePipeline() reports every unknown key, not just the first", () => {
  const issues = issuesOf(
    header + "  sources:\n    - id: a\n      command: [x]\n      foo: 1\n      bar: 2\n",
  );
  assertEquals(issues.length, 2);
});

Deno.test("parsePipeline() requires an image in container mode", () => {
  assertEquals(
    issuesOf(header + "  sources:\n    - id: a\n      command: [x]\n", {
      orchestrator: "container",
    }),
    [
      '7:7 spec.sources[0] component "a" needs an "image" to run as a container',
    ],
  );
});

Deno.test("parsePipeline() refuses alias bombs and oversized files", () => {
  const bomb = header +
    'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n';
  assertEquals(
    issuesOf(bomb)[0],
    "1:1  too many alias expansions (more than 100); alias bombs are refused",
  );
  const huge = header + "#" + "x".repeat(1024 * 1024);
  assertThrows(() => parsePipeline(huge, base), ConfigError, "pipeline files are limited");
});

Deno.test("parsePipeline() resolves component references per orchestrator", () => {
  const text = header + `  sources:
    - id: src
      command: [x]
      image: img
      ports: [{ name: admin, containerPort: 9000 }, { name: grpc, containerPort: 50051, hostPort: 6000 }]
  sinks:
    - id: sink
      inputs: [src]
      command: [x]
      image: img
      env: { E: "\${components.src.endpoint}", H: "\${components.src.host}", P: "\${components.src.ports.admin}" }
`;
  const processEnv = parsePipeline(text, base).pipeline.components[1]?.env;
  assertEquals(processEnv, { E: "127.0.0.1:50051", H: "127.0.0.1", P: "9000" });
  const containerEnv = parsePipeline(text, { ...base, orchestrator: "container" }).pipeline
    .components[1]?.env;
  assertEquals(containerEnv, { E: "src:50051", H: "src", P: "9000" });
});

Deno.test("parsePipeline() takes the environment over .env and warns about unset variables", () => {
  const text = header +
    '  sources:\n    - id: a\n      command: [x]\n      env: { A: "${FROM_ENV}", B: "${FROM_DOTENV}", C: "${UNSET}" }\n';
  const { pipeline, warnings } = parsePipeline(text, {
    ...base,
    env: { FROM_ENV: "env" },
    dotenv: { FROM_ENV: "dotenv", FROM_DOTENV: "dotenv" },
  });
  assertEquals(pipeline.components[0]?.env, { A: "env", B: "dotenv", C: "" });
  assertEquals(warnings.map((w) => `${w.line}:${w.column} ${w.message}`), [
    '9:56 variable "UNSET" is not set; using an empty string',
  ]);
});

Deno.test("parsePipeline() bounds every duration so no timer overflows at run time", () => {
  const issues = issuesOf(
    header + `  sources:
    - id: a
      command: [x]
      stop_grace_period: 99999999999999h
      health:
        tcp: { port: 80 }
        interval: 0s
        timeout: 25h
        start_period: ${"9".repeat(400)}h
    - id: b
      command: [x]
      stop_grace_period: 24h
      health: { registered: true, interval: 1ms, timeout: 0.5ms, start_period: 0s }
`,
  );
  assertEquals(issues, [
    '9:26 spec.sources[0].stop_grace_period duration "99999999999999h" is too long: at most 24h',
    '12:19 spec.sources[0].health.interval duration "0s" is too short: at least 1ms',
    '13:18 spec.sources[0].health.timeout duration "25h" is too long: at most 24h',
    `14:23 spec.sources[0].health.start_period duration "${
      "9".repeat(40)
    }…" (401 characters) is too long: at most 24h`,
    '18:59 spec.sources[1].health.timeout duration "0.5ms" is too short: at least 1ms',
  ]);
});

Deno.test("parsePipeline() bounds every port to 1-65535", () => {
  const issues = issuesOf(
    header + `  sources:
    - id: a
      command: [x]
      ports: [{ containerPort: 0, hostPort: 65536 }]
      health: { http: { port: 70000 } }
    - id: b
      command: [x]
      health_port: -1
    - id: c
      command: [x]
      health: { tcp: { port: 1.5 } }
`,
  );
  assertEquals(issues, [
    "9:32 spec.sources[0].ports[0].containerPort a port number (1-65535) must be at least 1, got 0",
    "9:45 spec.sources[0].ports[0].hostPort a port number (1-65535) must be at most 65535, got 65536",
    "10:31 spec.sources[0].health.http.port a port number (1-65535) must be at most 65535, got 70000",
    "13:20 spec.sources[1].health_port a port number (1-65535) must be at least 1, got -1",
    "16:30 spec.sources[2].health.tcp.port expected a port number (1-65535), got 1.5",
  ]);
});

Deno.test("parsePipeline() takes ids that work as file, container and DNS names only", () => {
  const idsIn = (ids: string[]) =>
    issuesOf(
      header + "  sources:\n" + ids.map((id) => `    - id: "${id}"\n      command: [x]\n`).join(""),
    ).map((issue) => issue.replace(/^\S+ \S+ /, ""));
  const refused = ["a..b", "a.", "a-", "a_", "a.-b", "a_.b", "x.y..z"];
  assertEquals(
    idsIn(refused),
    refused.map((id) =>
      `invalid id "${id}": it must end with a letter or digit, and each "." needs a letter or digit on both sides`
    ),
  );
  assertEquals(idsIn([".a", "-a"]).length, 2);
  const accepted = ["stellar-live-source-datalake", "ttp-processor", "consumer-app", "a", "0"];
  assertEquals(idsIn([...accepted, "v1.2", "a_b", "a--b", "web.eu-1"]), []);
  for (const id of accepted) assertEquals(isComponentId(id), true, id);
  for (const id of [...refused, "A", "a".repeat(64)]) assertEquals(isComponentId(id), false, id);
});

Deno.test("parsePipeline() takes numbers and booleans in command, args and env as their text", () => {
  const { pipeline } = parsePipeline(
    header +
      "  sources:\n    - id: a\n      command: [python3, srv.py, 500, true, 1.5]\n      args: [7, false]\n      env: { N: 5, B: false }\n",
    base,
  );
  assertEquals(pipeline.components[0]?.argv, [
    "python3",
    "srv.py",
    "500",
    "true",
    "1.5",
    "7",
    "false",
  ]);
  assertEquals(pipeline.components[0]?.env, { N: "5", B: "false" });
  assertEquals(
    issuesOf(header + "  sources:\n    - id: a\n      command: [x, { b: 1 }]\n      args: [[y]]\n"),
    [
      "8:16 spec.sources[0].command expected a list of strings, numbers or booleans, got a mapping at [1]",
      "9:13 spec.sources[0].args expected a list of strings, numbers or booleans, got a list at [0]",
    ],
  );
});

Deno.test("parsePipeline() suggests inputs and keys with two letters swapped", () => {
  const sources = "  sources:\n    - id: src\n      command: [x]\n  sinks:\n    - id: out\n";
  assertEquals(issuesOf(header + sources + "      command: [x]\n      inputs: [scr]\n"), [
    '12:16 spec.sinks[0].inputs[0] unknown input "scr" (did you mean "src"?)',
  ]);
  assertEquals(issuesOf(header + sources + "      command: [x]\n      inptus: [src]\n"), [
    '12:7 spec.sinks[0].inptus unknown key "inptus" (did you mean "inputs"?)',
  ]);
});

Deno.test("parsePipeline() builds the Go flowctl keys into the model", () => {
  const { pipeline, warnings } = parsePipeline(
    `apiVersion: flowctl/v1
kind: Pipeline
metadata:
  name: go-keys
  namespace: obsrvr
  labels: { team: data }
  annotations: { description: "x" }
spec:
  description: all keys
  driver: docker
  config: { region: eu, shards: 04 }
  sources:
    - id: src
      type: stellar-live-source
      image: src:1
      command: [sh, -c]
      args: |
        echo "$line"
      health_endpoint: "http://src:8081/health?full=1"
      health_port: 8081
      volumes:
        - { name: creds, host_path: "$HOME/creds.json", container_path: /creds.json, readonly: true }
        - { name: data, mountPath: /data }
      secrets:
        - { name: token, host_path: keys/token, container_path: /run/token, env: TOKEN_FILE, mode: "0400", required: true }
      resources:
        requests: { cpu: 500m, memory: 512Mi }
        limits: { cpu: "2", memory: 2Gi }
      restart_policy: on-failure
  pipelines:
    - id: whole
      image: p:1
      depends_on: [src]
      replicas: 3
`,
    { ...base, env: { HOME: "/home/u" } },
  );
  assertEquals(pipeline.orchestrator, "container");
  assertEquals(pipeline.namespace, "obsrvr");
  assertEquals(pipeline.labels, { team: "data" });
  assertEquals(pipeline.annotations, { description: "x" });
  assertEquals(pipeline.config, { region: "eu", shards: "04" });
  assertEquals(pipeline.levels, [["src"], ["whole"]]);
  const [src, whole] = pipeline.components;
  assertEquals(src?.type, "stellar-live-source");
  assertEquals(src?.command, ["sh", "-c"]);
  assertEquals(src?.args, ['echo "$line"\n']);
  assertEquals(src?.health?.probe, { type: "http", path: "/health?full=1", port: 8081 });
  assertEquals(src?.volumes, [
    { type: "bind", hostPath: "/home/u/creds.json", containerPath: "/creds.json", readonly: true },
    { type: "volume", name: "data", containerPath: "/data", readonly: false },
  ]);
  assertEquals(src?.secrets, [{
    name: "token",
    hostPath: "/work/keys/token",
    containerPath: "/run/token",
    env: "TOKEN_FILE",
    mode: 0o400,
    required: true,
    labels: {},
  }]);
  assertEquals(src?.resources, {
    requests: { nanoCpus: 500_000_000, memoryBytes: 512 * 2 ** 20 },
    limits: { nanoCpus: 2_000_000_000, memoryBytes: 2 * 2 ** 30 },
  });
  assertEquals(src?.restart, "on-failure");
  assertEquals(whole?.kind, "pipeline");
  assertEquals(whole?.dependsOn, [{ id: "src", condition: "healthy" }]);
  assertEquals(whole?.inputs, []);
  assertEquals(whole?.replicas, 3);
  assertEquals(warnings.map((w) => w.message), [
    'variable "line" is not set; "$line" is left as written',
  ]);
});

Deno.test("parsePipeline() locates mistakes in the Go flowctl keys", async (t) => {
  const cases: [string, string, Partial<ParsePipelineOptions>, string][] = [
    [
      "replicas with a published host port",
      "  driver: docker\n  sources:\n    - id: a\n      image: x:1\n      replicas: 2\n      ports: [{ containerPort: 80, hostPort: 8080 }]\n",
      {},
      '10:17 spec.sources[0].replicas component "a" has 2 replicas but publishes host port 8080, which only one container can take: remove its hostPort',
    ],
    [
      "process replicas with a health port",
      "  sources:\n    - id: a\n      command: [x]\n      replicas: 2\n      health_check: /health\n      health_port: 8089\n",
      {},
      '9:17 spec.sources[0].replicas component "a" has 2 replicas but listens on fixed port 8089, which processes cannot share: use one replica, or run with --orchestrator container',
    ],
    [
      "restart and restart_policy disagree",
      '  sources:\n    - id: a\n      command: [x]\n      restart: always\n      restart_policy: "no"\n',
      {},
      '10:7 spec.sources[0].restart_policy restart_policy "no" contradicts restart "always"; keep one',
    ],
    [
      "health_endpoint that is not a URL",
      "  sources:\n    - id: a\n      command: [x]\n      health_endpoint: localhost:8081/health\n",
      {},
      '9:24 spec.sources[0].health_endpoint health_endpoint "localhost:8081/health" must be an http:// URL',
    ],
    [
      "unknown depends_on",
      "  sources:\n    - id: alpha\n      command: [x]\n    - id: b\n      command: [x]\n      depends_on: [alpah]\n",
      {},
      '11:20 spec.sources[1].depends_on[0] unknown dependency "alpah" (did you mean "alpha"?)',
    ],
    [
      "a volume without a target",
      "  sources:\n    - id: a\n      image: x:1\n      volumes: [{ host_path: ./d }]\n",
      { orchestrator: "container" },
      '9:17 spec.sources[0].volumes[0] a volume needs "container_path" (or "mountPath")',
    ],
    [
      "memory request over its limit",
      "  sources:\n    - id: a\n      image: x:1\n      resources: { requests: { memory: 2Gi }, limits: { memory: 1Gi } }\n",
      { orchestrator: "container" },
      "9:40 spec.sources[0].resources.requests.memory the request is larger than the limit (memory): a container could never get it",
    ],
    [
      "a CPU amount in memory units",
      "  sources:\n    - id: a\n      image: x:1\n      resources: { limits: { cpu: 1Gi } }\n",
      { orchestrator: "container" },
      '9:35 spec.sources[0].resources.limits.cpu invalid CPU amount "1Gi": use "500m" or "2"',
    ],
  ];
  for (const [name, body, options, expected] of cases) {
    await t.step(name, () => assertEquals(issuesOf(header + body, options)[0], expected));
  }
});

Deno.test("parsePipeline() reads depends_on's map form with conditions", () => {
  const { pipeline } = parsePipeline(
    header + `  sources:
    - id: db
      command: [db]
    - id: migrate
      command: [migrate]
      depends_on: { db: { condition: started } }
  sinks:
    - id: app
      command: [app]
      depends_on:
        migrate: { condition: completed_successfully }
        db: { condition: service_healthy }
    - id: report
      command: [report]
      depends_on: { app: null }
`,
    base,
  );
  const byId = new Map(pipeline.components.map((c) => [c.id, c]));
  assertEquals(byId.get("migrate")?.dependsOn, [{ id: "db", condition: "started" }]);
  assertEquals(byId.get("app")?.dependsOn, [
    { id: "migrate", condition: "completed_successfully" },
    { id: "db", condition: "healthy" },
  ]);
  assertEquals(byId.get("report")?.dependsOn, [{ id: "app", condition: "healthy" }]);
  assertEquals(pipeline.levels, [["db"], ["migrate"], ["app"], ["report"]]);
});

Deno.test("parsePipeline() locates mistakes in depends_on's map form", async (t) => {
  const cases: [string, string, string][] = [
    [
      "unknown condition",
      "  sources:\n    - id: m\n      command: [x]\n    - id: b\n      command: [x]\n      depends_on: { m: { condition: completed_succesfully } }\n",
      '11:37 spec.sources[1].depends_on.m.condition invalid condition "completed_succesfully": use "started", "healthy" or "completed_successfully" (did you mean "completed_successfully"?)',
    ],
    [
      "unknown id",
      "  sources:\n    - id: migrate\n      command: [x]\n    - id: b\n      command: [x]\n      depends_on: { migrat: { condition: started } }\n",
      '11:21 spec.sources[1].depends_on.migrat unknown dependency "migrat" (did you mean "migrate"?)',
    ],
    [
      "unknown key in a dependency",
      "  sources:\n    - id: m\n      command: [x]\n    - id: b\n      command: [x]\n      depends_on: { m: { conditon: started } }\n",
      '11:26 spec.sources[1].depends_on.m.conditon unknown key "conditon" (did you mean "condition"?)',
    ],
    [
      "a cycle through the map form",
      "  sources:\n    - id: a\n      command: [x]\n      depends_on: { b: { condition: completed_successfully } }\n    - id: b\n      command: [x]\n      depends_on: { a: { condition: started } }\n",
      "9:19 spec.sources[0].depends_on dependency cycle: a -> b -> a",
    ],
  ];
  for (const [name, body, expected] of cases) {
    await t.step(name, () => assertEquals(issuesOf(header + body)[0], expected));
  }
});

Deno.test("parsePipeline() reads env_file below env, later files winning", () => {
  const files: Record<string, string> = {
    "/work/common.env": "A=common\nB=common\nC=common\n",
    "/work/app/local.env": "B=local\n",
  };
  const read: string[] = [];
  const { pipeline } = parsePipeline(
    header + `  sources:
    - id: app
      command: [x]
      env_file: [common.env, app/local.env]
      env: { C: own }
`,
    {
      ...base,
      readEnvFile: (path) => {
        read.push(path);
        const text = files[path];
        if (text === undefined) throw new Deno.errors.NotFound(path);
        return text;
      },
    },
  );
  assertEquals(pipeline.components[0]?.env, { A: "common", B: "local", C: "own" });
  assertEquals(pipeline.envFiles, ["/work/common.env", "/work/app/local.env"]);
  assertEquals(read, pipeline.envFiles);
});

Deno.test("parsePipeline() locates env_file and profile mistakes", async (t) => {
  const readEnvFile = (path: string) => {
    if (path === "/work/bad.env") return "A=1\nnot a line\n";
    throw new Deno.errors.NotFound(path);
  };
  const cases: [string, string, Partial<ParsePipelineOptions>, string][] = [
    [
      "a missing env_file",
      "  sources:\n    - id: a\n      command: [x]\n      env_file: missing.env\n",
      { readEnvFile },
      '9:17 spec.sources[0].env_file cannot read env_file "missing.env" (/work/missing.env): no such file',
    ],
    [
      "a malformed env_file",
      "  sources:\n    - id: a\n      command: [x]\n      env_file: [ok.env, bad.env]\n",
      { readEnvFile: (path) => path === "/work/ok.env" ? "" : readEnvFile(path) },
      '9:26 spec.sources[0].env_file[1] invalid env_file "bad.env": line 2: expected KEY=VALUE, got "not a line"',
    ],
    [
      "an enabled component needing a disabled one",
      "  sources:\n    - id: tap\n      command: [x]\n      profiles: [debug]\n  sinks:\n    - id: app\n      command: [x]\n      depends_on: [tap]\n",
      {},
      '13:20 spec.sinks[0].depends_on[0] component "app" needs "tap", which is only in profile "debug", not enabled: enable it with --profile debug, or give "app" the same profile',
    ],
    [
      "every component off",
      "  sources:\n    - id: tap\n      command: [x]\n      profiles: [debug]\n",
      {},
      '6:3 spec every component is in a profile that is not enabled; enable one with --profile (profiles in this file: "debug")',
    ],
  ];
  for (const [name, body, options, expected] of cases) {
    await t.step(name, () => assertEquals(issuesOf(header + body, options)[0], expected));
  }
});

Deno.test("parsePipeline() leaves out components whose profiles are not enabled", () => {
  const body = header + `  sources:
    - id: src
      command: [x]
    - id: tap
      command: [x]
      profiles: [debug, trace]
`;
  const off = parsePipeline(body, { ...base, profiles: ["bench"] });
  assertEquals(off.pipeline.components.map((c) => c.id), ["src"]);
  assertEquals(off.warnings.map((w) => w.message), [
    'no component has profile "bench" (profiles in this file: "debug", "trace")',
  ]);
  const on = parsePipeline(body, { ...base, profiles: ["trace"] });
  assertEquals(on.pipeline.components.map((c) => c.id), ["src", "tap"]);
  assertEquals(on.pipeline.levels, [["src", "tap"]]);
});
