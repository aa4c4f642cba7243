/** Issue 25's container-mode findings: exec of a missing command, status of a stopped component. */
import { assertEquals } from "./assert.ts";
import { ExitCode } from "../src/cli/exit_code.ts";
import {
  buildTestImage,
  containerPipeline,
  imageComponent,
  leftovers,
  SKIP_DOCKER,
} from "./_docker.ts";
import { FlowctlProcess, runFlowctl } from "./_helpers.ts";

if (!SKIP_DOCKER) await buildTestImage();

Deno.test({
  name:
    "container mode: exec of a missing command is 127 with flowctl's message; a stopped component shows no container",
  ignore: SKIP_DOCKER,
  fn: async () => {
    const p = await containerPipeline(
      "newcomer",
      "  sources:\n" + imageComponent("src", {}, "      stop_grace_period: 1s\n") +
        "  sinks:\n" +
        imageComponent("sink", {}, "      inputs: [src]\n      stop_grace_period: 1s\n"),
    );
    const env = { FLOWCTL_STATE_DIR: `${p.dir}/state` };
    const flowctl = new FlowctlProcess(p.args, { env });
    try {
      await flowctl.waitForOutput("Pipeline started successfully");
      const missing = await runFlowctl(["exec", "src", "--", "nosuchcmd", "--flag"], { env });
      assertEquals(missing.code, 127, missing.stdout);
      assertEquals(missing.stdout, "");
      assertEquals(missing.stderr, 'flowctl: command "nosuchcmd" not found\n');

      const stop = await runFlowctl(["stop", p.name, "sink"], { env });
      assertEquals(stop.code, ExitCode.ok, stop.stderr);
      const status = await runFlowctl(["status", p.name, "--output", "json"], { env });
      assertEquals(status.code, ExitCode.ok, status.stderr);
      const sink = JSON.parse(status.stdout).pipelines[0].components
        .find((c: { id: string }) => c.id === "sink");
      assertEquals(
        [sink.state, sink.containerId, sink.pid, sink.registered, sink.lastHeartbeat],
        ["stopped", undefined, undefined, false, undefined],
      );
    } finally {
      flowctl.kill("SIGINT");
      await flowctl.result();
    }
    assertEquals((await flowctl.result()).code, ExitCode.ok);
    assertEquals(await leftovers(p.name), { containers: [], networks: [] });
    await Deno.remove(p.dir, { recursive: true });
  },
});
