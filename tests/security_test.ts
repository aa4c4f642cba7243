/** Security properties: loopback-only listeners, private logs, no leaked secrets, no escapes. */
import { ExitCode } from "../src/cli/exit_code.ts";
import { DockerClient } from "../src/docker/docker_client.ts";
import { LABEL_PIPELINE } from "../src/docker/labels.ts";
import { logPath } from "../src/logs/log_file.ts";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "./assert.ts";
import { buildTestImage, SKIP_DOCKER, TEST_IMAGE } from "./_docker.ts";
import {
  containerComponent,
  fixture,
  FlowctlProcess,
  freePort,
  runFlowctl,
  testPipeline,
  uniqueName,
} from "./_helpers.ts";

/** Local addresses (as dotted IPv4 or "::") of sockets listening on `port`, from /proc/net/tcp*. */
function listenersOn(port: number): string[] {
  const addresses: string[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of Deno.readTextFileSync(file).split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, , state] = [fields[1], fields[2], fields[3]];
      if (!local || state !== "0A") continue; // 0A = LISTEN
      const [hex = "", portHex = ""] = local.split(":");
      if (parseInt(portHex, 16) !== port) continue;
      addresses.push(
        hex.length === 8
          ? (hex.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)).join(".")
          : hex,
      );
    }
  }
  return addresses;
}

const SECRET = "s3cr3t-VALUE-do-not-print";

Deno.test("security: the control plane listens on loopback only, and no env value reaches output or state", async () => {
  await using p = await testPipeline({
    name: uniqueName("sec"),
    sources: [fixture("src", { API_TOKEN: SECRET })],
  });
  const env = { ...p.env, HOST_SECRET: SECRET };
  const stateFile = `${p.env.FLOWCTL_STATE_DIR}/${p.name}.json`;
  await using flowctl = new FlowctlProcess([...p.args, "--output", "json"], { env });
  await flowctl.waitForOutput('"event":"pipeline_started"');
  const port = Number(
    JSON.parse(flowctl.stdout.split("\n")[0] ?? "{}").controlPlane.split(":")[1],
  );
  assertEquals(listenersOn(port), ["127.0.0.1"]);
  const stateText = await Deno.readTextFile(stateFile);
  const status = (await runFlowctl(["status", p.file, "--output", "json"], { env })).stdout;
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  const validate = await runFlowctl(["validate", p.file, "--output", "json"], { env });
  const outputs: [string, string][] = [
    ["run output", result.stdout + result.stderr],
    ["state file", stateText],
    ["status", status],
    ["validate", validate.stdout],
  ];
  for (const [what, text] of outputs) {
    assert(text.length > 0, `${what} is not empty`);
    assertEquals(text.includes(SECRET), false, `${what} must not contain an env value`);
  }
  assertEquals(
    (await Deno.stat(stateFile).catch(() => undefined)) === undefined,
    true,
    "state removed after the run",
  );
});

Deno.test("security: component ids cannot leave the log folder", async () => {
  await using p = await testPipeline({
    name: "escape",
    sources: [{ id: "../../etc/passwd", command: ["x"] }],
  });
  const result = await runFlowctl(["validate", p.file]);
  assertEquals(result.code, ExitCode.usage);
  assertStringIncludes(result.stderr, 'invalid id "../../etc/passwd"');
  assertThrows(() => logPath("/logs", "../x"), RangeError);
  assertThrows(() => logPath("/logs", "a/../../b"), RangeError);
});

Deno.test({
  name:
    "security: containers are unprivileged, on the run network, with ports published on 127.0.0.1",
  ignore: SKIP_DOCKER,
  async fn() {
    await buildTestImage();
    const port = freePort();
    await using p = await testPipeline({
      name: uniqueName("sec"),
      driver: "container",
      sources: [
        containerComponent("web", TEST_IMAGE, { HEALTH_PORT: 8080, API_TOKEN: SECRET }, {
          ports: [{ containerPort: 8080, hostPort: port }],
          health: { http: { path: "/health", port: 8080 } },
        }),
      ],
    });
    await using flowctl = new FlowctlProcess(p.args, { env: p.env });
    await flowctl.waitForOutput("Pipeline started successfully");
    using docker = await DockerClient.connect();
    const [summary] = await docker.listContainers(LABEL_PIPELINE, p.name);
    const response = await docker.request("GET", `/containers/${summary?.Id}/json`);
    const inspect = await response.json();
    assertEquals(inspect.HostConfig.Privileged, false);
    assert(
      String(inspect.HostConfig.NetworkMode).startsWith(`flowctl-${p.name}-`),
      inspect.HostConfig.NetworkMode,
    );
    assertEquals(inspect.HostConfig.PortBindings["8080/tcp"], [{
      HostIp: "127.0.0.1",
      HostPort: String(port),
    }]);
    assertEquals(
      listenersOn(port).every((address) => address === "127.0.0.1"),
      true,
      `listeners: ${listenersOn(port)}`,
    );
    flowctl.kill("SIGINT");
    const result = await flowctl.result();
    assertEquals(result.code, ExitCode.ok, result.stderr);
    assertEquals((result.stdout + result.stderr).includes(SECRET), false);
  },
});
