/** Operating a running container-mode pipeline: exec, restart/stop/start, exec probes, liveness. */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import {
  buildTestImage,
  containerPipeline,
  imageComponent,
  leftovers,
  SKIP_DOCKER,
} from "./_docker.ts";
import { FlowctlProcess, MAIN, runFlowctl, waitFor } from "./_helpers.ts";

if (!SKIP_DOCKER) await buildTestImage();

const env = { FLOWCTL_STATE_DIR: Deno.env.get("FLOWCTL_STATE_DIR") ?? "/tmp/flowctl-state" };

Deno.test({
  name:
    "container mode: exec runs inside the container, restart/stop/start one component, liveness by an exec probe",
  ignore: SKIP_DOCKER,
  fn: async () => {
    await using p = await containerPipeline(
      "op",
      "  sources:\n" +
        imageComponent(
          "src",
          { GREETING: "hello from src" },
          `      stop_grace_period: 1s\n      restart: on-failure\n` +
            `      health:\n        exec: [/bin/busybox, sh, -c, "test ! -e /www/hung"]\n` +
            `        interval: 200ms\n        retries: 1\n        restart_after: 2\n`,
        ) +
        "  sinks:\n" +
        imageComponent("sink", {}, "      inputs: [src]\n      stop_grace_period: 1s\n"),
    );
    await using flowctl = new FlowctlProcess(p.args, { env });
    await flowctl.waitForOutput("Pipeline started successfully");

    const exec = await runFlowctl(
      ["exec", p.file, "src", "--", "/bin/busybox", "sh", "-c", 'echo "$GREETING"; exit 5'],
      { env },
    );
    assertEquals(exec.code, 5, exec.stderr);
    assertEquals(exec.stdout, "hello from src\n");

    // A terminal on stdin (util-linux `script` gives flowctl a pty): the exec gets a TTY.
    const tty = await new Deno.Command("script", {
      args: [
        "-qec",
        `${Deno.execPath()} run -A --quiet ${MAIN} exec ${p.file} src -- /bin/busybox sh -c 'tty; exit 3'`,
        "/dev/null",
      ],
      env: { ...env, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(tty.code, 3, new TextDecoder().decode(tty.stderr));
    assertStringIncludes(new TextDecoder().decode(tty.stdout), "/dev/pts/");
    const piped = await runFlowctl(["exec", p.file, "src", "--", "/bin/busybox", "sh"], {
      env,
      stdin: "echo from stdin; exit 4\n",
    });
    assertEquals(piped.code, 4, piped.stderr);
    assertEquals(piped.stdout, "from stdin\n");

    const status = await runFlowctl(["status", p.file, "--output", "json"], { env });
    assertEquals(status.code, 0, status.stderr);
    const src = JSON.parse(status.stdout).pipelines[0].components
      .find((c: { id: string }) => c.id === "src");
    assert(src.rssBytes > 0, `the engine's memory figure is shown: ${status.stdout}`);
    assertEquals(typeof src.cpuPercent, "number");

    const restart = await runFlowctl(["restart", p.file, "sink"], { env });
    assertEquals(restart.code, 0, restart.stderr);
    assertStringIncludes(restart.stdout, "Restarted component sink");
    await flowctl.waitForOutput("Restarting component sink (requested)");

    const stop = await runFlowctl(["stop", p.file, "sink"], { env });
    assertEquals(stop.code, 0, stop.stderr);
    const stoppedExec = await runFlowctl(["exec", p.file, "sink", "--", "/bin/busybox", "true"], {
      env,
    });
    assertEquals(stoppedExec.code, 1);
    assertStringIncludes(stoppedExec.stderr, `Component "sink" has no running container`);
    const start = await runFlowctl(["start", p.file, "sink"], { env });
    assertEquals(start.code, 0, start.stderr);

    // The probe starts failing inside the container: after 2 failures it is restarted, and
    // the new container (without the file) is healthy again.
    const hang = await runFlowctl(
      ["exec", p.file, "src", "--", "/bin/busybox", "touch", "/www/hung"],
      { env },
    );
    assertEquals(hang.code, 0, hang.stderr);
    await flowctl.waitForOutput("Component src failed 2 health checks in a row; restarting it");
    await flowctl.waitForOutput("Starting component: src (attempt 2)");
    await waitFor(
      () => flowctl.stdout.split("Component src health check passed").length === 3,
      "the restarted src to pass its health check",
      30_000,
    );
    flowctl.kill("SIGINT");
    const result = await flowctl.result();
    assertEquals(result.code, 0, result.stderr);
    assertEquals(await leftovers(p.name), { containers: [], networks: [] });
  },
});

Deno.test({
  name: "container mode: run -d leaves the containers running after it returns; down removes them",
  ignore: SKIP_DOCKER,
  fn: async () => {
    await using p = await containerPipeline(
      "opd",
      "  sources:\n" + imageComponent("src", {}, "      stop_grace_period: 1s\n"),
    );
    try {
      const started = await runFlowctl([...p.args, "-d"], { env });
      assertEquals(started.code, 0, started.stderr);
      assertStringIncludes(started.stdout, "Pipeline started successfully");
      assertEquals((await leftovers(p.name)).containers.length, 1, "the container runs");
      const status = await runFlowctl(["status", p.file], { env });
      assertEquals(status.code, 0, status.stderr);
    } finally {
      const down = await runFlowctl(["down", p.file], { env });
      assertEquals(down.code, 0, down.stderr);
    }
    assertEquals(await leftovers(p.name), { containers: [], networks: [] });
  },
});
