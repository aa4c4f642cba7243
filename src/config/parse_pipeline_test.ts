import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { ConfigError } from "./config_error.ts";
import { parsePipeline } from "./parse_pipeline_text.ts";
import { isComponentId } from "./schema.ts";
import { base, header, issuesOf } from "./_parse_test_helpers.ts";

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

/** A mistake, the file body that makes it, and the first issue reported. */
const LOCATED_CASES: [string, string, string][] = [
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

Deno.test("parsePipeline() locates each problem by line, column and path", async (t) => {
  for (const [name, body, expected] of LOCATED_CASES) {
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
