/** A component's health check, as the "build components" step of `parsePipeline` checks it. */
import type { IssueCollector } from "./_issues.ts";
import { formatDuration, MAX_DURATION_MS, parseDuration } from "./duration.ts";
import type { Expand } from "./interpolate.ts";
import { DEFAULT_HEALTH_TIMINGS, type HealthCheck, type PortMapping } from "./pipeline.ts";
import type { ComponentSpec, HealthSpec } from "./schema.ts";
import type { PathSegment } from "./yaml_path.ts";

/** The health check from either the `health` mapping or the `health_check`/`health_port` pair. */
export function buildHealth(
  spec: ComponentSpec,
  path: PathSegment[],
  ports: readonly PortMapping[],
  expand: Expand,
  issues: IssueCollector,
): HealthCheck | undefined {
  const shorthand = spec.health_check !== undefined || spec.health_port !== undefined ||
    spec.health_endpoint !== undefined;
  if (spec.health && shorthand) {
    issues.report(
      [...path, spec.health_check !== undefined ? "health_check" : "health_port"],
      'use either "health" or "health_check"/"health_port"/"health_endpoint", not both',
      true,
    );
    return undefined;
  }
  if (spec.health_endpoint !== undefined) {
    return endpointHealth(spec, [...path, "health_endpoint"], expand, issues);
  }
  if (shorthand) {
    const port = spec.health_port ?? ports.find((p) => p.name === "health")?.containerPort;
    if (port === undefined) {
      issues.report(
        [...path, "health_check"],
        'health_check needs "health_port" (or a port named "health")',
        true,
      );
      return undefined;
    }
    return {
      probe: { type: "http", path: spec.health_check ?? "/health", port },
      ...DEFAULT_HEALTH_TIMINGS,
    };
  }
  return spec.health ? buildFullHealth(spec.health, [...path, "health"], issues) : undefined;
}

/**
 * `health_endpoint: http://<host>:<port>/<path>`: the host names the component itself in these
 * files, so only the port (else `health_port`, else 80) and the path are kept; the probe goes
 * to the component's own address in either mode.
 */
function endpointHealth(
  spec: ComponentSpec,
  path: PathSegment[],
  expand: Expand,
  issues: IssueCollector,
): HealthCheck | undefined {
  const text = expand(spec.health_endpoint ?? "", path);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    issues.report(
      path,
      `invalid health_endpoint "${text}": expected a URL such as "http://x:8081/health"`,
    );
    return undefined;
  }
  if (url.protocol !== "http:") {
    issues.report(path, `health_endpoint "${text}" must be an http:// URL`);
    return undefined;
  }
  const urlPort = url.port === "" ? undefined : Number(url.port);
  if (urlPort !== undefined && spec.health_port !== undefined && urlPort !== spec.health_port) {
    issues.report(
      path,
      `health_endpoint port ${urlPort} differs from health_port ${spec.health_port}`,
    );
  }
  return {
    probe: {
      type: "http",
      path: `${url.pathname}${url.search}`,
      port: urlPort ?? spec.health_port ?? 80,
    },
    ...DEFAULT_HEALTH_TIMINGS,
  };
}

function buildFullHealth(
  health: HealthSpec,
  path: PathSegment[],
  issues: IssueCollector,
): HealthCheck | undefined {
  const kinds = (["http", "tcp", "registered", "exec"] as const).filter((k) =>
    health[k] !== undefined && health[k] !== false
  );
  if (kinds.length !== 1) {
    issues.report(
      path,
      kinds.length === 0
        ? 'health needs one of "http", "tcp", "exec" or "registered: true"'
        : `health has ${kinds.map((k) => `"${k}"`).join(" and ")}; use exactly one`,
    );
    return undefined;
  }
  const probe = health.http
    ? { type: "http" as const, path: health.http.path ?? "/health", port: health.http.port }
    : health.tcp
    ? { type: "tcp" as const, port: health.tcp.port }
    : health.exec
    ? { type: "exec" as const, command: health.exec.map(String) }
    : { type: "registered" as const };
  if (probe.type === "registered" && health.restart_after !== undefined) {
    // A registration is checked once, at startup: there is nothing to count failures of.
    issues.report(
      [...path, "restart_after"],
      'restart_after needs a probe ("http", "tcp" or "exec"); "registered" is only checked at startup',
    );
  }
  const timing = (
    key: "interval" | "start_interval" | "timeout" | "start_period",
    minMs: number,
  ) => durationMs(health[key], [...path, key], issues, minMs);
  const intervalMs = timing("interval", 1) ?? DEFAULT_HEALTH_TIMINGS.intervalMs;
  return {
    probe,
    intervalMs,
    startIntervalMs: timing("start_interval", 1) ?? intervalMs,
    timeoutMs: timing("timeout", 1) ?? DEFAULT_HEALTH_TIMINGS.timeoutMs,
    retries: health.retries ?? DEFAULT_HEALTH_TIMINGS.retries,
    startPeriodMs: timing("start_period", 0) ?? DEFAULT_HEALTH_TIMINGS.startPeriodMs,
    ...(health.restart_after !== undefined ? { restartAfter: health.restart_after } : {}),
  };
}

/**
 * A duration of the file in milliseconds, bounded so timers never overflow: at most 24h, and at
 * least `minMs` (an interval or timeout of 0 would probe in a busy loop or always fail).
 */
export function durationMs(
  text: string | undefined,
  path: PathSegment[],
  issues: IssueCollector,
  minMs = 0,
): number | undefined {
  if (text === undefined) return undefined;
  let ms = Infinity;
  try {
    ms = parseDuration(text);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error; // the schema checked the format
  }
  if (ms > MAX_DURATION_MS) {
    issues.report(
      path,
      `duration "${text}" is too long: at most ${formatDuration(MAX_DURATION_MS)}`,
    );
  } else if (ms < minMs) {
    issues.report(path, `duration "${text}" is too short: at least ${formatDuration(minMs)}`);
  }
  return ms;
}
