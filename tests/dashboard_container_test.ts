/** The dashboard of a container-mode run: states, the engine's CPU and memory, the live log. */
import { assertEquals, assertMatch } from "./assert.ts";
import { browserUnavailable, openBrowser } from "./_browser.ts";
import { buildTestImage, leftovers, SKIP_DOCKER, TEST_IMAGE } from "./_docker.ts";
import { containerComponent, FlowctlProcess, testPipeline, uniqueName } from "./_helpers.ts";

if (!SKIP_DOCKER) await buildTestImage();

Deno.test({
  name: "run --ui in container mode: containers drawn with their usage and logs",
  ignore: SKIP_DOCKER || browserUnavailable() !== undefined,
  async fn() {
    await using p = await testPipeline({
      name: uniqueName("ui-ct"),
      driver: "container",
      sources: [
        containerComponent("src", TEST_IMAGE, { HEALTH_PORT: 8080, LINES: 3 }, {
          health: { http: { path: "/health", port: 8080 } },
        }),
      ],
      sinks: [containerComponent("sink", TEST_IMAGE, {}, { inputs: ["src"] })],
    });
    {
      await using flowctl = new FlowctlProcess([...p.args, "--ui"], { env: p.env });
      await flowctl.waitForOutput("Pipeline started successfully", 60_000);
      const url = /Dashboard: (\S+)/.exec(flowctl.stdout)?.[1] ?? "";
      await using browser = await openBrowser();
      const { page } = browser;
      await page.goto(url);
      await page.waitForSelector('[data-component="src"][data-state="healthy"]');
      await page.waitForSelector('[data-component="sink"][data-state="running"]');
      await page.waitForSelector('[data-edge="src->sink"]');
      // The engine's stats arrive within a few seconds of the page opening.
      await page.waitForSelector('[data-component="src"] .l2:text("mem")', { timeout: 20_000 });
      assertMatch(
        await page.textContent('[data-component="src"] .l2') ?? "",
        /^cpu \d+\.\d% · mem \d/,
      );
      await page.click('[data-component="src"]');
      await page.waitForSelector('#log:text("src line 3")');
      const origin = new URL(url).origin;
      assertEquals(browser.requests.filter((r) => !r.startsWith(`${origin}/`)), []);
    }
    assertEquals(await leftovers(p.name), { containers: [], networks: [] });
  },
});
