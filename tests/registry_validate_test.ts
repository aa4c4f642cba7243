/** `validate` of registry components and image binaries: what each becomes in each mode. */
import { ExitCode } from "../src/cli/exit_code.ts";
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { runFlowctl } from "./_helpers.ts";

const file = `apiVersion: flowctl/v1
kind: Pipeline
metadata: { name: registry-validate }
spec:
  sources:
    - id: source
      type: stellar-live-source@v1.2.0
      config: { network: testnet, start_ledger: 5, enabled: true }
  sinks:
    - id: sink
      type: sink
      image: acme/sink:2
      inputs: [source]
`;

Deno.test("validate: registry components and images without command are valid in both modes", async () => {
  for (const orchestrator of ["process", "container"]) {
    const result = await runFlowctl(
      ["validate", "-", "--offline", "--orchestrator", orchestrator],
      {
        stdin: file,
      },
    );
    assertEquals(result.code, ExitCode.ok, result.stdout + result.stderr);
    assertStringIncludes(result.stdout, `2 components in 2 levels (${orchestrator})`);
  }
});

Deno.test("validate: a bad registry type is located; --component-registry is checked", async () => {
  const bad = await runFlowctl(["validate", "-"], {
    stdin: file.replace("stellar-live-source@v1.2.0", "Stellar@v1"),
  });
  assertEquals(bad.code, ExitCode.usage);
  assertStringIncludes(
    bad.stderr,
    `-:7:13: spec.sources[0].type: invalid name "withobsrvr/Stellar" in "Stellar@v1"`,
  );
  const flag = await runFlowctl(["validate", "-", "--component-registry", "not a host"], {
    stdin: file,
  });
  assertEquals(flag.code, ExitCode.usage);
  assertStringIncludes(
    flag.stderr,
    `--component-registry: invalid component registry "not a host"`,
  );
  const env = await runFlowctl(["validate", "-"], {
    stdin: file,
    env: { FLOWCTL_COMPONENT_REGISTRY: "bad host/x" },
  });
  assertEquals(env.code, ExitCode.usage);
  assertStringIncludes(env.stderr, `FLOWCTL_COMPONENT_REGISTRY: invalid component registry`);
});

Deno.test("validate: a process component needs a command, an image or a registry type", async () => {
  const result = await runFlowctl(["validate", "-"], {
    stdin: file.replace("      type: stellar-live-source@v1.2.0\n", ""),
  });
  assertEquals(result.code, ExitCode.usage);
  assertStringIncludes(
    result.stderr,
    `component "source" needs a "command" (or an "image", or a registry "type" such as "name@v1") to run as a process`,
  );
});

Deno.test("validate: a registry type that does not parse is the one problem reported", async () => {
  const result = await runFlowctl(["validate", "-", "--output", "json"], {
    stdin: file.replace("stellar-live-source@v1.2.0", "source@v 1"),
  });
  assertEquals(result.code, ExitCode.usage);
  const { issues } = JSON.parse(result.stdout) as { issues: { path: string; message: string }[] };
  assertEquals(issues.map((i) => `${i.path}: ${i.message}`), [
    `spec.sources[0].type: invalid version "v 1" in "source@v 1": use a tag (letters, digits, ".", "_", "-") or a sha256 digest`,
  ]);
});
