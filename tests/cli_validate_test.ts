import { assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { Ajv } from "ajv";
import { parse } from "yaml";
import { ExitCode } from "../src/cli/exit_code.ts";
import { MAIN, ROOT, runArgs, runFlowctl, tempDir, writeTemp } from "./_helpers.ts";

const EXAMPLE = `${ROOT}examples/ttp-pipeline.yaml`;

Deno.test("flowctl validate accepts the example for both orchestrators", async () => {
  for (const orchestrator of ["process", "container"]) {
    const result = await runFlowctl(["validate", EXAMPLE, "--orchestrator", orchestrator]);
    assertEquals(result.code, ExitCode.ok, result.stderr);
    assertStringIncludes(
      result.stdout,
      `is valid: pipeline "ttp-processing-pipeline", 3 components in 3 levels (${orchestrator})`,
    );
  }
});

Deno.test("flowctl validate exits 2 with file:line:col for a cycle, a misspelt key and a bad indent", async () => {
  await using dir = await tempDir();
  const header = "apiVersion: flowctl/v1\nkind: Pipeline\nmetadata:\n  name: demo\nspec:\n";
  const cycle = await writeTemp(
    "cycle.yaml",
    header +
      "  processors:\n    - id: a\n      command: [x]\n      inputs: [b]\n    - id: b\n      command: [x]\n      inputs: [a]\n",
    dir.path,
  );
  const typo = await writeTemp(
    "typo.yaml",
    header + "  sources:\n    - id: a\n      comand: [x]\n",
    dir.path,
  );
  const indent = await writeTemp(
    "indent.yaml",
    header + "  sources:\n   - id: a\n     command: y\n    env: {}\n",
    dir.path,
  );
  const expected: [string, RegExp][] = [
    [cycle, /cycle\.yaml:9:15: spec\.processors\[0\]\.inputs: dependency cycle: a -> b -> a/],
    [
      typo,
      /typo\.yaml:8:7: spec\.sources\[0\]\.comand: unknown key "comand" \(did you mean "command"\?\)/,
    ],
    [indent, /indent\.yaml:9:1: YAML syntax error/],
  ];
  for (const [file, pattern] of expected) {
    const result = await runFlowctl(["validate", file]);
    assertEquals(result.code, ExitCode.usage);
    assertMatch(result.stderr, pattern);
    assertEquals(result.stderr.includes("    at "), false, "no stack trace");
  }
});

Deno.test("flowctl validate --output json lists the issues", async () => {
  await using dir = await tempDir();
  const file = await writeTemp(
    "bad.yaml",
    "apiVersion: flowctl/v2\nkind: Pipeline\nmetadata: { name: x }\nspec: {}\n",
    dir.path,
  );
  const result = await runFlowctl(["validate", file, "--output", "json"]);
  assertEquals(result.code, ExitCode.usage);
  const report = JSON.parse(result.stdout);
  assertEquals(report.valid, false);
  assertEquals(report.issues[0], {
    file,
    line: 1,
    column: 13,
    path: "apiVersion",
    message: 'unsupported apiVersion "flowctl/v2": use "flowctl/v1"',
  });
});

Deno.test("flowctl validate reads standard input and the .env beside a file", async () => {
  const text =
    'apiVersion: flowctl/v1\nkind: Pipeline\nmetadata:\n  name: demo\nspec:\n  sources:\n    - id: a\n      command: [sh]\n      env: { A: "${REQUIRED:?set it in .env}" }\n';
  const fromStdin = await runFlowctl(["validate", "-"], { stdin: text });
  assertEquals(fromStdin.code, ExitCode.usage);
  assertStringIncludes(
    fromStdin.stderr,
    '-:9:17: spec.sources[0].env.A: required variable "REQUIRED" is unset or empty: set it in .env',
  );
  await using dir = await tempDir();
  const file = await writeTemp("pipeline.yaml", text, dir.path);
  await Deno.writeTextFile(`${dir.path}/.env`, "REQUIRED=yes\n");
  assertEquals((await runFlowctl(["validate", file])).code, ExitCode.ok);
});

Deno.test("flowctl reports usage errors in one line with a hint, exit 2", async () => {
  const cases: [string[], string][] = [
    [["frobnicate"], 'flowctl: unknown command "frobnicate"'],
    [["validate"], "flowctl: missing pipeline file"],
    [["validate", "a.yaml", "--bogus"], "flowctl: Unknown option '--bogus'"],
    [["validate", "a.yaml", "--orchestrator", "k8s"], 'flowctl: invalid --orchestrator "k8s"'],
    [
      ["validate", "/nonexistent/p.yaml"],
      "/nonexistent/p.yaml: cannot read pipeline file: no such file",
    ],
  ];
  for (const [args, message] of cases) {
    const result = await runFlowctl(args);
    assertEquals(result.code, ExitCode.usage, `${args.join(" ")}: ${result.stderr}`);
    assertStringIncludes(result.stderr, message);
  }
});

Deno.test("flowctl --help, version and per-command help exit 0", async () => {
  const help = await runFlowctl(["--help"]);
  assertEquals(help.code, ExitCode.ok);
  assertStringIncludes(help.stdout, "validate");
  const validateHelp = await runFlowctl(["validate", "--help"]);
  assertStringIncludes(validateHelp.stdout, "Usage: flowctl validate");
  const version = await runFlowctl(["version", "--output", "json"]);
  assertMatch(JSON.parse(version.stdout).version, /^\d+\.\d+\.\d+$/);
  // Every command's module loads on use: its help must come through the list and `help <name>`.
  for (const name of ["run", "status", "down", "logs", "validate", "schema", "version"]) {
    assertStringIncludes(help.stdout, `  ${name} `);
    const topic = await runFlowctl(["help", name]);
    assertEquals(topic.code, ExitCode.ok, topic.stderr);
    assertStringIncludes(topic.stdout, `Usage: flowctl ${name}`);
  }
  assertMatch((await runFlowctl(["--version"])).stdout, /^flowctl \d+\.\d+\.\d+ \(deno /);
});

Deno.test("flowctl schema prints a JSON Schema that describes the example", async () => {
  const result = await runFlowctl(["schema"]);
  assertEquals(result.code, ExitCode.ok);
  const schema = JSON.parse(result.stdout);
  assertEquals(schema.$schema, "http://json-schema.org/draft-07/schema#");
  assertEquals(schema.required, ["apiVersion", "kind", "metadata", "spec"]);
  const component = schema.properties.spec.properties.processors.anyOf[0].items;
  assertEquals(component.additionalProperties, { not: {} });
  for (const key of ["id", "command", "image", "env", "ports", "health", "inputs", "restart"]) {
    assertEquals(key in component.properties, true, key);
  }
  const validate = new Ajv({ strict: false }).compile(schema);
  const example = parse(await Deno.readTextFile(EXAMPLE));
  assertEquals(validate(example), true, JSON.stringify(validate.errors));
  assertEquals(validate({ ...example, spec: { ...example.spec, sorces: [] } }), false);
});

/** `flowctl validate <file>`, fed the file `stdin` names, killed if not done within 10 s. */
async function validateWithDeadline(file: string, stdin: string | null = null) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, "validate", file],
    stdin: stdin === null ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(10_000),
  }).spawn();
  if (stdin !== null) {
    using source = await Deno.open(stdin);
    await source.readable.pipeTo(child.stdin).catch(() => {}); // the reader stops early
  }
  const { code, stderr } = await child.output();
  return { code, stderr: new TextDecoder().decode(stderr) };
}

/** Makes `fifo` a pipe that a writer sends 2 MiB into, then holds open until disposal. */
async function endlessPipe(fifo: string): Promise<AsyncDisposable> {
  assertEquals((await new Deno.Command("mkfifo", { args: [fifo] }).output()).code, 0);
  const writer = new Deno.Command("sh", {
    args: ["-c", 'exec > "$0"; head -c 2097152 /dev/zero; exec sleep 60', fifo],
    stdout: "null",
    stderr: "null",
  }).spawn();
  return {
    async [Symbol.asyncDispose]() {
      writer.kill();
      await writer.status;
    },
  };
}

Deno.test("flowctl validate refuses a pipe as the pipeline file without reading it, exit 2", async () => {
  await using dir = await tempDir("flowctl-fifo-");
  const fifo = `${dir.path}/pipeline.yaml`;
  await using _writer = await endlessPipe(fifo);
  const result = await validateWithDeadline(fifo);
  assertEquals(result.code, ExitCode.usage, result.stderr);
  assertEquals(
    result.stderr.trim(),
    `${fifo}: is a FIFO (named pipe), not a regular file; flowctl reads pipeline files only from regular files (or "-")`,
  );
});

Deno.test("flowctl validate refuses a pipe as .env without reading it, exit 2", async () => {
  await using dir = await tempDir();
  const file = await writeTemp(
    "pipeline.yaml",
    "apiVersion: flowctl/v1\nkind: Pipeline\nmetadata: { name: x }\nspec: { sources: [{ id: a, command: [x] }] }\n",
    dir.path,
  );
  const dotenv = `${dir.path}/.env`;
  await using _writer = await endlessPipe(dotenv);
  const result = await validateWithDeadline(file);
  assertEquals(result.code, ExitCode.usage, result.stderr);
  assertEquals(
    result.stderr.trim(),
    `${dotenv}: cannot read .env: is a FIFO (named pipe), not a regular file`,
  );
});

Deno.test("flowctl validate refuses /dev/zero as the file, and reads at most 1 MiB of it as standard input", async (t) => {
  await t.step("/dev/zero as the file", async () => {
    const result = await validateWithDeadline("/dev/zero");
    assertEquals(result.code, ExitCode.usage, result.stderr);
    assertStringIncludes(result.stderr, "/dev/zero: is a device, not a regular file");
  });
  await t.step("/dev/zero as standard input", async () => {
    const result = await validateWithDeadline("-", "/dev/zero");
    assertEquals(result.code, ExitCode.usage, result.stderr);
    assertStringIncludes(result.stderr, "-: input is larger than 1048576 bytes");
  });
});

Deno.test("flowctl validate and run refuse an id like a..b the same way, exit 2", async () => {
  await using dir = await tempDir();
  const file = await writeTemp(
    "dots.yaml",
    "apiVersion: flowctl/v1\nkind: Pipeline\nmetadata:\n  name: demo\nspec:\n  sources:\n    - id: a..b\n      command: [x]\n",
    dir.path,
  );
  const expected =
    `${file}:7:11: spec.sources[0].id: invalid id "a..b": it must end with a letter or digit, and each "." needs a letter or digit on both sides`;
  const validate = await runFlowctl(["validate", file]);
  assertEquals([validate.code, validate.stderr.trim()], [ExitCode.usage, expected]);
  await using logDir = await tempDir("flowctl-logs-");
  const run = await runFlowctl(runArgs(file, logDir.path));
  assertEquals(run.code, ExitCode.usage, run.stderr);
  assertStringIncludes(run.stderr, expected);
  assertEquals(run.stderr.includes("    at "), false, "no stack trace");
  assertEquals([...Deno.readDirSync(logDir.path)], [], "nothing started");
});
