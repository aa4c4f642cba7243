/**
 * The dashboard in a real browser (Debian's chromium): the example pipeline on free ports with
 * its datalake in a temporary folder, so that the test makes ledgers flow by writing files.
 */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { browserUnavailable, openBrowser, type Page } from "./_browser.ts";
import { FlowctlProcess, freePort, ROOT, tempDir, waitFor } from "./_helpers.ts";

const SOURCE = "stellar-live-source-datalake";
const PROCESSOR = "ttp-processor";
const SINK = "consumer-app";

/** The example, on free ports, reading its ledgers from `datalake`. */
async function examplePipeline(dir: string, datalake: string): Promise<string> {
  let text = await Deno.readTextFile(`${ROOT}examples/ttp-pipeline.yaml`);
  for (const port of ["50051", "8088", "50052", "8089", "3000"]) {
    text = text.replaceAll(new RegExp(`\\b${port}\\b`, "g"), String(freePort()));
  }
  text = text.replaceAll("working_dir: ttp", `working_dir: ${ROOT}examples/ttp`)
    .replace("${DATALAKE_DIR:-datalake}", datalake);
  const file = `${dir}/pipeline.yaml`;
  await Deno.writeTextFile(file, text);
  return file;
}

/** Writes ledger files after the highest one in `datalake`, one every `everyMs`. */
function writeLedgers(datalake: string, count: number, everyMs: number): Promise<void> {
  const template = JSON.parse(
    Deno.readTextFileSync(`${ROOT}examples/ttp/datalake/ledger-000001.json`),
  );
  let next = Math.max(
    ...[...Deno.readDirSync(datalake)].map((e) => Number(/\d+/.exec(e.name)?.[0] ?? 0)),
  ) + 1;
  return (async () => {
    for (let i = 0; i < count; i++, next++) {
      const name = `${datalake}/ledger-${String(next).padStart(6, "0")}.json`;
      await Deno.writeTextFile(`${name}.tmp`, JSON.stringify({ ...template, sequence: next }));
      await Deno.rename(`${name}.tmp`, name);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
}

function node(id: string): string {
  return `[data-component="${id}"]`;
}

async function rateOf(page: Page, edge: string): Promise<number> {
  return Number(await page.getAttribute(`[data-edge="${edge}"]`, "data-rate") ?? "0");
}

Deno.test({
  name:
    "run --ui: the example's dashboard shows states, rates, logs and controls, and serves only its own page",
  ignore: browserUnavailable() !== undefined,
  async fn(t) {
    await using dir = await tempDir();
    const datalake = `${dir.path}/datalake`;
    await Deno.mkdir(datalake);
    for (const entry of Deno.readDirSync(`${ROOT}examples/ttp/datalake`)) {
      await Deno.copyFile(
        `${ROOT}examples/ttp/datalake/${entry.name}`,
        `${datalake}/${entry.name}`,
      );
    }
    const file = await examplePipeline(dir.path, datalake);
    const state = `${dir.path}/state`;
    await using flowctl = new FlowctlProcess(
      [
        "run",
        file,
        "--ui",
        "--log-dir",
        `${dir.path}/logs`,
        "--control-plane-port",
        "0",
        "--heartbeat-interval",
        "1s",
      ],
      { env: { FLOWCTL_STATE_DIR: state, CONSUMER_HEARTBEAT_MS: "1000" } },
    );
    await flowctl.waitForOutput("Dashboard: http://127.0.0.1:");
    const url = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=([A-Za-z0-9_-]{16,}))\n/.exec(
      flowctl.stdout,
    );
    assert(url, `one dashboard line with a URL-safe token of 16+ characters:\n${flowctl.stdout}`);
    const [, address = "", token = ""] = url;
    const origin = new URL(address).origin;
    assertEquals(flowctl.stdout.split("Dashboard:").length, 2, "the URL is printed once");
    await flowctl.waitForOutput("Pipeline started successfully", 60_000);

    await using browser = await openBrowser();
    const { page } = browser;

    await t.step("every component and edge is drawn, and each turns healthy", async () => {
      await page.goto(address);
      for (const id of [SOURCE, PROCESSOR, SINK]) {
        await page.waitForSelector(`${node(id)}[data-state="healthy"]`, { timeout: 20_000 });
      }
      assertEquals(await page.locator("[data-component]").count(), 3);
      assertEquals(await page.locator("[data-edge]").count(), 2);
      await page.waitForSelector(`[data-edge="${SOURCE}->${PROCESSOR}"]`);
      await page.waitForSelector(`[data-edge="${PROCESSOR}->${SINK}"]`);
      assertStringIncludes(await page.textContent(node(SOURCE)) ?? "", "healthy");
    });

    await t.step("requests without the token get 401, with a wrong one 403", async () => {
      for (const path of ["/", "/app.js", "/api/events", "/api/logs?component=consumer-app"]) {
        const missing = await fetch(`${origin}${path}`);
        await missing.body?.cancel();
        assertEquals(missing.status, 401, path);
        const wrong = await fetch(
          `${origin}${path}${path.includes("?") ? "&" : "?"}token=x${token}`,
        );
        await wrong.body?.cancel();
        assertEquals(wrong.status, 403, path);
      }
      const foreign = await fetch(`${origin}/api/control?token=${token}`, {
        method: "POST",
        headers: { origin: "http://evil.example", "content-type": "application/json" },
        body: JSON.stringify({ action: "stop", components: [SINK], withDependents: false }),
      });
      assertEquals(foreign.status, 403, await foreign.text());
      const get = await fetch(`${origin}/api/control?token=${token}`);
      await get.body?.cancel();
      assertEquals(get.status, 404);
    });

    await t.step("rates rise on both edges when ledgers flow", async () => {
      const writing = writeLedgers(datalake, 40, 150);
      await waitFor(
        async () =>
          await rateOf(page, `${SOURCE}->${PROCESSOR}`) > 0 &&
          await rateOf(page, `${PROCESSOR}->${SINK}`) > 0,
        "a rate above 0 on both edges",
        20_000,
      );
      assertStringIncludes(
        await page.textContent(`[data-edge="${SOURCE}->${PROCESSOR}"] .rate`) ?? "",
        "ev/s",
      );
      // The example's components dial each other: the data path leaves the edge direct.
      await page.waitForSelector(
        `[data-edge="${SOURCE}->${PROCESSOR}"][data-edge-mode="direct"]`,
        { state: "attached", timeout: 40_000 },
      );
      // The README's picture: the example with ledgers flowing.
      await waitFor(async () =>
        (await page.evaluate<number>(
          "(app.history['" + `${SOURCE}->${PROCESSOR}` + "'] || []).filter((v) => v > 0).length",
        )) >= 3, "a few points of flow in the sparkline");
      await page.screenshot({ path: `${ROOT}docs/dashboard.png` });
      await writing;
    });

    await t.step("a component's panel shows its log live", async () => {
      await page.click(node(SINK));
      await page.waitForSelector("#panel:not([hidden]) #log");
      await waitFor(
        async () => (await page.textContent("#log") ?? "").includes("event ledger="),
        "log tail",
      );
      const before = (await page.textContent("#log") ?? "").split("\n").length;
      await writeLedgers(datalake, 2, 50);
      await waitFor(
        async () => (await page.textContent("#log") ?? "").split("\n").length > before,
        "a new log line in the panel",
      );
      assertStringIncludes(await page.textContent("#panel") ?? "", "HTTP GET");
    });

    await t.step("a killed component turns unhealthy and back within its restart", async () => {
      await page.evaluate(`(() => {
        const seen = window.seenStates = [];
        const target = document.querySelector('[data-component="${PROCESSOR}"]');
        new MutationObserver(() => seen.push(target.getAttribute("data-state")))
          .observe(target, { attributes: true, attributeFilter: ["data-state"] });
      })()`);
      const run = JSON.parse(await Deno.readTextFile(`${state}/ttp-processing-pipeline.json`));
      const pid = run.components.find((c: { id: string }) => c.id === PROCESSOR).pid;
      Deno.kill(-pid, "SIGKILL");
      await page.waitForSelector(`${node(PROCESSOR)}:not([data-state="healthy"])`);
      await page.waitForSelector(`${node(PROCESSOR)}[data-state="healthy"]`, { timeout: 30_000 });
      const seen = await page.evaluate<string[]>("window.seenStates");
      assert(seen.includes("restarting"), `states seen: ${seen.join(", ")}`);
      assertStringIncludes(await page.textContent(node(PROCESSOR)) ?? "", "restarts 1");
      assertStringIncludes(
        await page.textContent(node(PROCESSOR)) ?? "",
        "last exit: killed by SIGKILL",
      );
    });

    await t.step("the restart button restarts the component", async () => {
      await page.click(node(PROCESSOR));
      await page.waitForSelector('#panel-title:text("ttp-processor")');
      await page.click('#panel [data-action="restart"]');
      await page.waitForSelector('#control-result:text("✓ restart ttp-processor")', {
        timeout: 30_000,
      });
      await page.waitForSelector(
        '#timeline li[data-event="component_restarting"][data-event-component="ttp-processor"]',
      );
      await page.waitForSelector(`${node(PROCESSOR)}[data-state="healthy"]`);
    });

    await t.step("a screenshot of the panel", async () => {
      await page.click(node(SINK));
      await page.waitForSelector('#panel-title:text("consumer-app")');
      await page.screenshot({ path: `${ROOT}docs/dashboard-panel.png` });
    });

    await t.step("after the pipeline stops, the page keeps its final picture", async () => {
      flowctl.kill("SIGINT");
      assertEquals((await flowctl.result()).code, 0);
      await page.waitForSelector('#pipeline-state[data-pipeline-state="stopped"]');
      await page.waitForSelector('#connection:text("disconnected")');
      for (const id of [SOURCE, PROCESSOR, SINK]) {
        assertEquals(await page.getAttribute(node(id), "data-state"), "stopped");
      }
      assertEquals(await page.locator("[data-edge]").count(), 2);
    });

    await t.step("no request of the page left the dashboard's own loopback origin", () => {
      assert(browser.requests.length > 3);
      const elsewhere = browser.requests.filter((r) =>
        !r.startsWith(`${origin}/`) && !r.startsWith("data:")
      );
      assertEquals(elsewhere, []);
    });
  },
});
