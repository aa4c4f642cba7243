/** The command-line side of the dashboard: `run --ui` options and output, `flowctl ui` errors. */
import { assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { stringify } from "yaml";
import { ExitCode } from "../src/cli/exit_code.ts";
import { fixture, FlowctlProcess, runFlowctl, testPipeline, uniqueName } from "./_helpers.ts";

Deno.test("run --ui before the file prints the URL as one NDJSON event, and the page stays until flowctl exits", async () => {
  await using p = await testPipeline({
    name: uniqueName("ui-json"),
    sinks: [fixture("sink", { TICK_MS: 100 })],
  });
  await using flowctl = new FlowctlProcess(
    ["run", "--ui", ...p.args.slice(1), "--output", "json"],
    { env: p.env },
  );
  await flowctl.waitForOutput('"event":"pipeline_started"', 30_000);
  const events = flowctl.stdout.trim().split("\n").map((line) => JSON.parse(line));
  const ui = events.filter((e) => e.event === "ui");
  assertEquals(ui.length, 1);
  assertEquals(events[0].event, "ui", "printed before the pipeline starts");
  assertMatch(ui[0].url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{24}$/);
  const page = await fetch(ui[0].url);
  assertStringIncludes(await page.text(), '<svg id="graph"');
  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, ExitCode.ok, result.stderr);
  // flowctl exited: its dashboard is gone with it.
  const refused = await fetch(ui[0].url).then(async (response) => {
    await response.body?.cancel();
    return false;
  }, () => true);
  assertEquals(refused, true);
});

Deno.test("run --ui=ADDR rejects an address it cannot read; flowctl ui says when nothing runs", async () => {
  await using p = await testPipeline({ name: uniqueName("ui-bad"), sinks: [fixture("sink")] });
  const bad = await runFlowctl([...p.args, "--ui=localhost:http"], { env: p.env });
  assertEquals(bad.code, ExitCode.usage);
  assertStringIncludes(bad.stderr, 'invalid --ui "localhost:http": use PORT, HOST or HOST:PORT');
  const none = await runFlowctl(["ui"], { env: p.env });
  assertEquals(none.code, ExitCode.failure);
  assertStringIncludes(none.stderr, "No running pipeline");
  const named = await runFlowctl(["ui", p.name], { env: p.env });
  assertEquals(named.code, ExitCode.failure);
  assertStringIncludes(named.stderr, `Pipeline "${p.name}" is not running`);
});

Deno.test("run -d --ui prints the URL once the detached pipeline started; flowctl ui gives the same", async () => {
  await using p = await testPipeline({
    name: uniqueName("ui-detach"),
    sinks: [fixture("sink", { TICK_MS: 1000 })],
  });
  const started = await runFlowctl([...p.args, "-d", "--ui"], { env: p.env });
  try {
    assertEquals(started.code, ExitCode.ok, started.stderr);
    const url = /^Dashboard: (\S+)$/m.exec(started.stdout)?.[1];
    assertMatch(url ?? "", /^http:\/\/127\.0\.0\.1:\d+\/\?token=/);
    const asked = await runFlowctl(["ui", p.file], { env: p.env });
    assertEquals(asked.stdout, `Dashboard: ${url}\n`);
  } finally {
    const down = await runFlowctl(["down", p.file], { env: p.env });
    assertEquals(down.code, ExitCode.ok, down.stderr);
  }
});

Deno.test("run --watch --ui: a reloaded pipeline reaches the open page as a new picture", async () => {
  const name = uniqueName("ui-watch");
  const document = (ids: string[]) =>
    stringify({
      apiVersion: "flowctl/v1",
      kind: "Pipeline",
      metadata: { name },
      spec: { sources: ids.map((id) => fixture(id, { TICK_MS: 1000 })) },
    });
  await using p = await testPipeline({ name, sources: [fixture("a")] });
  await Deno.writeTextFile(p.file, document(["a"]));
  await using flowctl = new FlowctlProcess([...p.args, "--watch", "--ui"], { env: p.env });
  await flowctl.waitForOutput("Pipeline started successfully");
  const url = /Dashboard: (\S+)/.exec(flowctl.stdout)?.[1] ?? "";
  const stream = await fetch(url.replace("/?token=", "/api/events?token="));
  const frames = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
  const inits: string[][] = [];
  let text = "";
  const readInit = async () => {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const frame = /event: init\ndata: (.*)\n\n/.exec(text);
      if (frame) {
        text = text.slice((frame.index ?? 0) + frame[0].length);
        const init = JSON.parse(frame[1] ?? "{}");
        inits.push(init.graph.components.map((c: { id: string }) => c.id));
        return;
      }
      const { value, done } = await frames.read();
      if (done) throw new Error("the event stream ended");
      text += value;
    }
    throw new Error(`no init frame within 20 s; received:\n${text.slice(0, 2000)}`);
  };
  await readInit();
  await Deno.writeTextFile(p.file, document(["a", "b"]));
  await flowctl.waitForOutput("Pipeline reloaded: started b (new)");
  await readInit();
  assertEquals(inits, [["a"], ["a", "b"]]);
  await frames.cancel();
});
