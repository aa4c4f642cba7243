/**
 * Debian's chromium driven by playwright-core (installed by tools/prepare.sh into tests/browser),
 * headless, in a new empty profile, with every request the page makes recorded.
 */
import { createRequire } from "node:module";
import { ROOT, waitFor } from "./_helpers.ts";

export const CHROMIUM = "/usr/bin/chromium";

/**
 * Why the browser tests cannot run here, or undefined when they can. CI (FLOWCTL_REQUIRE_DOCKER=1)
 * installs chromium and the driver, so there they fail instead of being skipped.
 */
export function browserUnavailable(): string | undefined {
  if (Deno.env.get("FLOWCTL_REQUIRE_DOCKER") === "1") return undefined;
  try {
    Deno.statSync(CHROMIUM);
    Deno.statSync(`${ROOT}tests/browser/node_modules/playwright-core`);
    return undefined;
  } catch {
    return `no ${CHROMIUM} or no tests/browser/node_modules (run tools/prepare.sh)`;
  }
}

/** The part of playwright's Page the tests use. */
export interface Page {
  goto(url: string): Promise<unknown>;
  waitForSelector(
    selector: string,
    options?: { timeout?: number; state?: "attached" | "visible" | "hidden" },
  ): Promise<unknown>;
  evaluate<T>(script: string): Promise<T>;
  click(selector: string): Promise<void>;
  press(selector: string, key: string): Promise<void>;
  focus(selector: string): Promise<void>;
  textContent(selector: string): Promise<string | null>;
  getAttribute(selector: string, name: string): Promise<string | null>;
  screenshot(options: { path: string; fullPage?: boolean }): Promise<unknown>;
  setViewportSize(size: { width: number; height: number }): Promise<void>;
  locator(selector: string): { count(): Promise<number> };
  selectOption(selector: string, value: string): Promise<unknown>;
  keyboard: { press(key: string): Promise<void> };
}

interface Request {
  url(): string;
}

interface BrowserContext {
  newPage(): Promise<Page>;
  on(event: "request", listener: (request: Request) => void): void;
  close(): Promise<void>;
}

interface Playwright {
  chromium: {
    launchPersistentContext(
      userDataDir: string,
      options: { executablePath: string; args: string[]; headless: boolean },
    ): Promise<BrowserContext>;
  };
}

/** A headless chromium with one page; disposing closes it and removes its profile. */
export interface BrowserSession extends AsyncDisposable {
  page: Page;
  /** The URL of every request the page made, in order. */
  requests: string[];
}

/** Launches chromium in a new empty profile and opens a page. */
export async function openBrowser(): Promise<BrowserSession> {
  const require = createRequire(`${ROOT}tests/browser/`);
  const { chromium } = require("playwright-core") as Playwright;
  const profile = await Deno.makeTempDir({ prefix: "flowctl-chromium-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const requests: string[] = [];
  context.on("request", (request) => requests.push(request.url()));
  const page = await context.newPage();
  await page.setViewportSize({ width: 1280, height: 720 });
  return {
    page,
    requests,
    async [Symbol.asyncDispose]() {
      await context.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Waits until `expression` is true in the page. Polled from here, because the dashboard's CSP
 * forbids the string evaluation that playwright's own waitForFunction polls with.
 */
export async function waitInPage(
  page: Page,
  expression: string,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  await waitFor(async () => await page.evaluate<boolean>(expression) === true, what, timeoutMs);
}
