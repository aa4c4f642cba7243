/**
 * The dashboard of a 50-component pipeline in a real browser, opened with `flowctl ui` on a
 * detached run that was started without --ui: every component and edge drawn, keyboard use,
 * the timeline's filter, and stop/start with dependents from the panel.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { ExitCode } from "../src/cli/exit_code.ts";
import { browserUnavailable, openBrowser, waitInPage } from "./_browser.ts";
import { wideYaml } from "./_wide_pipeline.ts";
import { isAlive, runArgs, runFlowctl, tempDir, uniqueName, writeTemp } from "./_helpers.ts";

Deno.test({
  name: "flowctl ui opens the dashboard of a detached 50-component run",
  ignore: browserUnavailable() !== undefined,
  async fn(t) {
    await using dir = await tempDir();
    const name = uniqueName("ui-wide");
    const file = await writeTemp("pipeline.yaml", wideYaml(name), dir.path);
    const env = { FLOWCTL_STATE_DIR: `${dir.path}/state` };
    const started = await runFlowctl(runArgs(file, `${dir.path}/logs`, "-d"), { env });
    assertEquals(started.code, ExitCode.ok, started.stderr);
    const state = JSON.parse(await Deno.readTextFile(`${dir.path}/state/${name}.json`));
    const pids: number[] = [
      state.flowctl.pid,
      ...state.components.map((c: { pid: number }) => c.pid),
    ];
    assertEquals(pids.length, 51);
    await using _down = {
      async [Symbol.asyncDispose]() {
        const down = await runFlowctl(["down", file], { env });
        assertEquals(down.code, ExitCode.ok, down.stderr);
        assertEquals(pids.filter(isAlive), [], "nothing survives flowctl down");
      },
    };
    const asked = await runFlowctl(["ui", name, "--output", "json"], { env });
    assertEquals(asked.code, ExitCode.ok, asked.stderr);
    const event = JSON.parse(asked.stdout);
    assertEquals(event.event, "ui");
    assertMatch(event.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{16,}$/);
    const again = await runFlowctl(["ui"], { env });
    assertEquals(again.stdout, `Dashboard: ${event.url}\n`, "the only running pipeline, same URL");

    await using browser = await openBrowser();
    const { page } = browser;
    const node = (id: string) => `[data-component="${id}"]`;

    await t.step("every component and edge is drawn and running", async () => {
      await page.goto(event.url);
      await page.waitForSelector(`${node("k9")}[data-state="running"]`, { timeout: 30_000 });
      await waitInPage(
        page,
        "document.querySelectorAll('[data-component][data-state=\"running\"]').length === 50",
        "50 running components",
        30_000,
      );
      assertEquals(await page.locator("[data-component]").count(), 50);
      assertEquals(await page.locator("[data-edge]").count(), 60);
      await page.waitForSelector('[data-edge="s3->p13"]');
      await page.waitForSelector('[data-edge="p13->p23"]');
    });

    await t.step("a component opens from the keyboard and Escape returns to it", async () => {
      await page.focus(node("p13"));
      await page.keyboard.press("Enter");
      await page.waitForSelector('#panel:not([hidden]) #panel-title:text("p13")');
      await page.keyboard.press("Escape");
      await page.waitForSelector("#panel", { state: "hidden" });
      assertEquals(
        await page.evaluate<string | null>("document.activeElement.getAttribute('data-component')"),
        "p13",
      );
    });

    await t.step("stop and start with dependents from the panel", async () => {
      await page.click(node("p3"));
      await page.waitForSelector('#panel-title:text("p3")');
      await page.click("#with-dependents");
      await page.click('#panel [data-action="stop"]');
      for (const id of ["p3", "p13", "p23", "k3"]) {
        await page.waitForSelector(`${node(id)}[data-state="stopped"]`);
      }
      assertEquals(await page.getAttribute(node("p4"), "data-state"), "running");
      await page.click('#panel [data-action="start"]');
      for (const id of ["p3", "p13", "p23", "k3"]) {
        await page.waitForSelector(`${node(id)}[data-state="running"]`);
      }
    });

    await t.step("the timeline shows one component's events when filtered", async () => {
      await page.selectOption("#timeline-filter", "k3");
      const shown = await page.evaluate<string[]>(
        "[...document.querySelectorAll('#timeline li:not(.hidden)')].map((li) => li.getAttribute('data-event-component'))",
      );
      assert(shown.length >= 4, `k3 started, stopped, started: ${shown.length} entries`);
      assertEquals([...new Set(shown)], ["k3"]);
    });

    await t.step("no request of the page left the dashboard's own loopback origin", () => {
      const origin = new URL(event.url).origin;
      assertEquals(browser.requests.filter((r) => !r.startsWith(`${origin}/`)), []);
    });
  },
});
