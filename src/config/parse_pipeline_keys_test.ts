/** parsePipeline(): the Go flowctl keys, depends_on's map form, env_file and profiles. */
import { assertEquals } from "../../tests/assert.ts";
import { parsePipeline } from "./parse_pipeline_text.ts";
import type { ParsePipelineOptions } from "./parse_pipeline.ts";
import { base, header, issuesOf } from "./_parse_test_helpers.ts";

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
