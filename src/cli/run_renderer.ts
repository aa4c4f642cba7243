/** Renders runner events for people (DESIGN §8 lines) or scripts (one JSON object per line). */
import type { RunnerEvent } from "../runner/events.ts";
import { formatDuration } from "../config/mod.ts";
import { describeExit } from "../orchestrator/orchestrator.ts";
import type { Output } from "./output.ts";

/** Renders one event on `out`. */
export function renderEvent(out: Output, event: RunnerEvent): void {
  if (out.format === "json") {
    const { type, ...fields } = event;
    out.json({ time: new Date().toISOString(), event: type, ...fields });
    return;
  }
  const line = textLine(event);
  if (line === undefined) return;
  if (event.type === "pipeline_failed") {
    out.error(line);
    if (event.logTail.length > 0) {
      out.error(`Last lines of ${event.logFile}:`);
      for (const tail of event.logTail) out.error(`  ${tail}`);
    }
  } else {
    out.line(line);
  }
}

function textLine(event: RunnerEvent): string | undefined {
  switch (event.type) {
    case "pipeline_starting":
      return `Starting pipeline: ${event.pipeline}`;
    case "component_starting":
      return event.attempt > 1
        ? `Starting component: ${event.component} (attempt ${event.attempt})`
        : `Starting component: ${event.component}`;
    case "component_healthy":
      if (event.recovered) return `Component ${event.component} is healthy again`;
      return event.checked
        ? `Component ${event.component} health check passed`
        : `Component ${event.component} started (no health check)`;
    case "component_unhealthy":
      return `Component ${event.component} is unhealthy: ${event.reason}`;
    case "component_exited":
      return `Component ${event.component} ${describeExit(event.exit)}`;
    case "component_restarting":
      if (event.requested) {
        return `Restarting component ${event.component} (${event.because ?? "requested"})`;
      }
      return `Restarting component ${event.component} in ${
        Math.round(event.delayMs / 100) / 10
      }s (restart ${event.restart})`;
    case "component_liveness_failed":
      return `Component ${event.component} failed ${event.failures} health checks in a row; ${
        event.restart ? "restarting it" : "stopping it"
      }`;
    case "component_stopping":
      return `Stopping component: ${event.component}`;
    case "component_stopped":
      return event.exit.signal === "SIGKILL"
        ? `Component ${event.component} was killed (it did not stop within its grace period of ${
          formatDuration(event.graceMs)
        }, or the stop was forced)`
        : `Component ${event.component} stopped`;
    case "component_waiting":
      return `Waiting for component ${event.component} to pass its health check (${
        formatDuration(Math.round(event.waitedMs / 1000) * 1000)
      }${event.lastProbe ? `, last probe: ${event.lastProbe}` : ""})`;
    case "shutdown_requested":
      return "Received shutdown signal";
    case "shutdown_forced":
      return "Received second signal: stopping without grace periods";
    case "notice":
      return event.message;
    case "component_registered":
      return `Component ${event.component} registered with the control plane (${event.via})`;
    case "component_stale":
      return `Component ${event.component} missed its heartbeats (last one ${
        Math.round(event.lastHeartbeatMs / 1000)
      }s ago)`;
    case "component_heartbeat_resumed":
      return `Component ${event.component} is sending heartbeats again`;
    case "pipeline_started":
      return "Pipeline started successfully";
    case "pipeline_stopping":
      return event.reason === "completed"
        ? `All ${event.finished ?? "sinks"} finished; stopping pipeline`
        : undefined;
    case "pipeline_stopped":
      return event.forced
        ? "Pipeline stopped (forced: grace periods were skipped)"
        : "Pipeline stopped successfully";
    case "pipeline_completed":
      return "Pipeline completed successfully";
    case "pipeline_failed":
      return `Pipeline failed: ${event.reason}`;
    case "edge_decided":
      return `Edge ${event.from} -> ${event.to}: ${event.mode} (${event.reason})`;
    case "component_started":
    case "edge_stats":
      return undefined;
  }
}

/**
 * Events rendered on `out`; on a terminal, pull progress rewrites one line, cleared before the
 * next event's line.
 */
export function eventOutput(out: Output): {
  emit(event: RunnerEvent): void;
  onPullProgress?: (component: string, line: string) => void;
} {
  let progressShown = false;
  const emit = (event: RunnerEvent) => {
    if (progressShown) out.rawText("\r\x1b[K");
    progressShown = false;
    renderEvent(out, event);
  };
  if (!out.color || out.format !== "text") return { emit };
  return {
    emit,
    onPullProgress: (id, line) => {
      progressShown = true;
      out.rawText(`\r\x1b[K${`${id}: ${line}`.slice(0, 120)}`);
    },
  };
}
