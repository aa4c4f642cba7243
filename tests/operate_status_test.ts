/** `flowctl status` shows CPU, memory, ports and node per component; `status -w` refreshes. */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import {
  FIXTURE_COMMAND,
  FlowctlProcess,
  freePort,
  pipelineYaml,
  runArgs,
  runFlowctl,
  tempDir,
  waitFor,
  writeTemp,
} from "./_helpers.ts";

const env = { FLOWCTL_STATE_DIR: Deno.env.get("FLOWCTL_STATE_DIR") ?? "/tmp/flowctl-state" };

interface StatusComponent {
  id: string;
  cpuPercent?: number;
  rssBytes?: number;
  ports: string[];
  node: string;
}

Deno.test("flowctl status shows CPU, RSS of the process group, ports and node; -w refreshes", async () => {
  await using dirTemp = await tempDir("flowctl-status-");
  const dir = dirTemp.path;
  const port = freePort();
  const file = await writeTemp(
    "pipeline.yaml",
    pipelineYaml(
      "operate-status",
      `  sources:\n    - id: idle\n      command: ${FIXTURE_COMMAND}\n` +
        `      env: { HEALTH_PORT: "${port}" }\n` +
        `      ports: [{ name: health, containerPort: ${port} }]\n` +
        // The busy loop runs in a child of sh: only summing the group sees its CPU.
        `    - id: busy\n      command: [sh, -c, "sh -c 'while :; do :; done' & wait"]\n`,
    ),
    dir,
  );
  await using flowctl = new FlowctlProcess(runArgs(file, `${dir}/logs`), { env });
  await flowctl.waitForOutput("Pipeline started successfully");
  const status = await runFlowctl(["status", file, "--output", "json"], { env });
  assertEquals(status.code, 0, status.stderr);
  const components: StatusComponent[] = JSON.parse(status.stdout).pipelines[0].components;
  const idle = components.find((c) => c.id === "idle");
  const busy = components.find((c) => c.id === "busy");
  assert(idle && busy, status.stdout);
  assert((busy.cpuPercent ?? 0) > 20, `the busy loop uses CPU: ${busy.cpuPercent}`);
  assert((idle.cpuPercent ?? 100) < (busy.cpuPercent ?? 0), "the idle one uses less");
  assert((idle.rssBytes ?? 0) > 10 * 1024 * 1024, `deno's RSS is counted: ${idle.rssBytes}`);
  assertEquals(idle.ports, [String(port)]);
  assertEquals(busy.ports, []);
  assertEquals(idle.node, Deno.hostname());

  const text = await runFlowctl(["status", file], { env });
  assertStringIncludes(text.stdout, "CPU");
  assertStringIncludes(text.stdout, "MEM");
  assertStringIncludes(text.stdout, "PORTS");

  const watch = new FlowctlProcess(["status", "-w", file], { env });
  await waitFor(
    () => watch.stdout.split("Pipeline operate-status").length > 2,
    "two refreshes of status -w",
    10_000,
  );
  watch.kill("SIGINT");
  const watched = await watch.result();
  assertEquals(watched.code, 0, watched.stderr);
  flowctl.kill("SIGINT");
  assertEquals((await flowctl.result()).code, 0);
});
