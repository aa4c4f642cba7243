/**
 * The dashboard of a swarm run on a single-node private swarm (its own network namespace, so the
 * page is read there with curl): each component shows the node its task runs on.
 */
import { assertEquals } from "./assert.ts";
import { imageComponent, REQUIRE_DOCKER } from "./_docker.ts";
import { FlowctlProcess, pipelineYaml, runArgs, tempDir, writeTemp } from "./_helpers.ts";
import { privateSwarmUnavailable, startSwarm } from "./_swarm.ts";

const UNAVAILABLE = privateSwarmUnavailable();

interface Frame {
  event: string;
  data: { components?: { id: string; node: string; state: string }[] };
}

/** The frames of the event stream at `url`, read for `seconds` inside the node's namespace. */
async function readFrames(wrapper: string[], url: string, seconds: number): Promise<Frame[]> {
  const [program = "", ...args] = [...wrapper, "curl", "-sN", "--max-time", `${seconds}`, url];
  const { stdout } = await new Deno.Command(program, { args, stdout: "piped", stderr: "null" })
    .output();
  return new TextDecoder().decode(stdout).split("\n\n").filter(Boolean).map((frame) => {
    const [event = "", data = "{}"] = frame.split("\n").map((line) => line.replace(/^\w+: /, ""));
    return { event, data: JSON.parse(data) };
  });
}

Deno.test({
  name: "run --ui in swarm mode: components show the node their tasks run on",
  ignore: UNAVAILABLE !== undefined && !REQUIRE_DOCKER,
  async fn() {
    await using swarm = await startSwarm();
    await using dir = await tempDir();
    const name = `ui-sw-${crypto.randomUUID().slice(0, 8)}`;
    const file = await writeTemp(
      "pipeline.yaml",
      pipelineYaml(
        name,
        "  driver: swarm\n  sources:\n" +
          imageComponent("web", { HEALTH_PORT: 8000 }, "      health: { tcp: { port: 8000 } }\n") +
          "  sinks:\n" + imageComponent("sink", {}, "      inputs: [web]\n"),
      ),
      dir.path,
    );
    await using flowctl = new FlowctlProcess([...runArgs(file, `${dir.path}/logs`), "--ui"], {
      wrapper: swarm.manager.wrapper,
      env: { DOCKER_HOST: swarm.manager.engine.host, FLOWCTL_STATE_DIR: `${dir.path}/state` },
    });
    await flowctl.waitForOutput("Pipeline started successfully", 90_000);
    const url = /Dashboard: (\S+)/.exec(flowctl.stdout)?.[1] ?? "";
    const events = url.replace("/?token=", "/api/events?token=");
    // Nodes are sampled while a page is open, the first time within two seconds.
    const frames = await readFrames(swarm.manager.wrapper, events, 5);
    assertEquals(frames[0]?.event, "init");
    const last = frames.filter((f) => f.data.components).at(-1)?.data.components ?? [];
    assertEquals(
      last.map((c) => [c.id, c.node]),
      [["web", Deno.hostname()], ["sink", Deno.hostname()]],
    );
  },
});
