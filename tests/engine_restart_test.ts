/**
 * The Docker engine restarting under a running pipeline (a row of the fault matrix), on a private
 * engine the test starts and removes: a test run never stops or restarts the host's own engine.
 */
import { assertEquals, assertStringIncludes } from "./assert.ts";
import {
  buildTestImage,
  containerPipeline,
  imageComponent,
  leftovers,
  REQUIRE_DOCKER,
} from "./_docker.ts";
import { privateEngineUnavailable, startPrivateEngine } from "./_private_engine.ts";
import { FlowctlProcess, freePort, processesWith, waitFor } from "./_helpers.ts";
import { DockerClient } from "../src/docker/docker_client.ts";

const UNAVAILABLE = privateEngineUnavailable();
if (UNAVAILABLE && !REQUIRE_DOCKER) {
  console.warn(`The engine restart test is skipped: ${UNAVAILABLE}`);
}

/**
 * What changes when the host engine restarts: its pid and that process's start time. (`/info`'s
 * ID survives restarts and its SystemTime is the current time, so they cannot tell.)
 */
async function hostEngine(): Promise<{ pid: number; startedAt: string; id: string } | undefined> {
  const pidText = await Deno.readTextFile("/var/run/docker.pid").catch(() => undefined);
  if (pidText === undefined) return undefined;
  const pid = Number(pidText.trim());
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "");
  const startedAt = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
  let id = "";
  try {
    using docker = await DockerClient.connect("unix:///var/run/docker.sock");
    const info = await docker.request("GET", "/info");
    id = String((await info.json()).ID);
  } catch {
    // no host engine answers: the pid and start time still tell
  }
  return { pid, startedAt, id };
}

Deno.test({
  name:
    "container mode: when the engine restarts mid-run, components are restarted per policy and nothing is left",
  ignore: UNAVAILABLE !== undefined && !REQUIRE_DOCKER,
  async fn() {
    const hostBefore = await hostEngine();
    let engineDir = "";
    let poolPrefix = "";
    {
      await using engine = await startPrivateEngine();
      engineDir = engine.dir;
      poolPrefix = engine.addressPool.split(".").slice(0, 2).join(".") + ".";
      await buildTestImage(engine.host);
      const port = freePort();
      await using p = await containerPipeline(
        "engine",
        "  sources:\n" +
          imageComponent(
            "src",
            { HEALTH_PORT: 8080 },
            `      ports: [{ containerPort: 8080, hostPort: ${port} }]\n      health: { http: { path: /health, port: 8080 } }\n      restart: on-failure\n`,
          ) +
          "  sinks:\n" +
          imageComponent("sink", {}, "      inputs: [src]\n      restart: on-failure\n"),
      );
      const flowctl = new FlowctlProcess(p.args, { env: { DOCKER_HOST: engine.host } });
      try {
        await flowctl.waitForOutput("sink ready", 60_000);
        await engine.restart();
        const count = (text: string) => flowctl.stdout.split(text).length - 1;
        await waitFor(
          () => count("Component src health check passed") === 2,
          "src healthy again after the restart",
          90_000,
        ).catch((error) => {
          throw new Error(`${error.message}; flowctl printed:\n${flowctl.stdout}${flowctl.stderr}`);
        });
        await waitFor(() => count("sink | sink ready") === 2, "the sink running again", 90_000);
      } finally {
        flowctl.kill("SIGINT");
        await flowctl.result();
      }
      const result = await flowctl.result();
      assertEquals(result.code, 0, result.stdout + result.stderr);
      assertStringIncludes(result.stdout, "Restarting component src in 1s (restart 1)");
      // The restarted container's log stream starts at the restart: no line is printed twice.
      assertEquals(result.stdout.split("sink | sink ready").length - 1, 2, result.stdout);
      assertStringIncludes(result.stdout, "Pipeline stopped successfully");
      assertEquals(await leftovers(p.name, engine.host), { containers: [], networks: [] });
    }
    // The private engine is gone with everything it had; the host's engine never noticed.
    assertEquals(processesWith(engineDir), [], "no process of the private engine is left");
    assertEquals(
      Deno.networkInterfaces().filter((i) => i.address.startsWith(poolPrefix)),
      [],
      "no bridge of the private engine is left",
    );
    assertEquals(await Deno.stat(engineDir).then(() => true, () => false), false, engineDir);
    assertEquals(
      Deno.readTextFileSync("/proc/self/mountinfo").includes(engineDir),
      false,
      "no mount of the private engine is left",
    );
    assertEquals(await hostEngine(), hostBefore, "the host's Docker engine was not restarted");
  },
});
