/** What `run --ui` and `flowctl ui` share: the listen address option and the URL line. */
import type { DashboardAddress } from "../ui/dashboard.ts";
import type { Output } from "./output.ts";
import { UsageError } from "./usage_error.ts";

/**
 * Reads `--ui[=ADDR]`: empty for 127.0.0.1 on a free port, `PORT`, `HOST` or `HOST:PORT`
 * (`[::1]:PORT` for IPv6).
 */
export function parseDashboardAddress(text: string): DashboardAddress {
  if (text === "") return { hostname: "127.0.0.1", port: 0 };
  const match = /^(?:(\d+)|\[([^\]]+)\](?::(\d+))?|([^:\[\]]+)(?::(\d+))?)$/.exec(text);
  const port = Number(match?.[1] ?? match?.[3] ?? match?.[5] ?? 0);
  if (!match || port > 65535) {
    throw new UsageError(
      `invalid --ui "${text}": use PORT, HOST or HOST:PORT (default: 127.0.0.1 on a free port)`,
      `run "flowctl run --help"`,
    );
  }
  return { hostname: match[2] ?? match[4] ?? "127.0.0.1", port };
}

/** Whether `hostname` is a loopback address, reachable from this host only. */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\./.test(hostname);
}

/** Prints the dashboard's URL: one text line, or an NDJSON `ui` event. */
export function showDashboardUrl(out: Output, url: string): void {
  if (out.format === "json") out.json({ time: new Date().toISOString(), event: "ui", url });
  else out.line(`Dashboard: ${url}`);
}
