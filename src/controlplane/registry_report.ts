/**
 * What people are told about registry events. Names and ids chosen by components come from the
 * wire, so control characters in them are escaped before they reach a terminal.
 */
import { clip } from "../config/mod.ts";
import type { RegistryEvent } from "./registry.ts";

/** The run events a registry event becomes; the runner's RunnerEvent includes them. */
export type RegistryLifecycleEvent =
  | { type: "component_registered"; component: string; via: string }
  | { type: "component_stale"; component: string; lastHeartbeatMs: number }
  | { type: "component_heartbeat_resumed"; component: string };

/** Where a registry event goes: a lifecycle event, or a one-line notice. */
export interface RegistryReportTargets {
  emit(event: RegistryLifecycleEvent): void;
  notice(message: string): void;
}

/** Reports `event` on `targets`; events of no interest to people are skipped. */
export function reportRegistryEvent(event: RegistryEvent, targets: RegistryReportTargets): void {
  const { registration } = event;
  const component = registration.componentId ??
    `(unknown service "${clip(registration.serviceId)}")`;
  switch (event.type) {
    case "registered":
      if (registration.componentId === undefined) {
        targets.notice(
          `Service "${
            clip(registration.serviceId)
          }" registered with the control plane (${registration.request.protocol}) but matches no pipeline component: ${
            clip(registration.unmatchedReason ?? "no id or health port of a component")
          }`,
        );
        return;
      }
      return targets.emit({
        type: "component_registered",
        component,
        via: `${registration.request.protocol}${
          registration.matchedBy ? `, matched by ${registration.matchedBy}` : ""
        }`,
      });
    case "stale":
      return targets.emit({ type: "component_stale", component, lastHeartbeatMs: event.silentMs });
    case "resumed":
      return targets.emit({ type: "component_heartbeat_resumed", component });
    case "dropped":
      return targets.notice(
        `Dropped the registration of ${component}: no heartbeat for ${
          Math.round(event.silentMs / 1000)
        }s and it matches no pipeline component`,
      );
    case "heartbeat_flood":
      return targets.notice(
        `warning: ${
          registration.componentId ? `component ${component}` : component
        } sends heartbeats far faster than its interval (${event.count} in ${event.windowMs} ms); it probably reads FLOWCTL_HEARTBEAT_INTERVAL (e.g. "10s") as milliseconds: set FLOWCTL_HEARTBEAT_INTERVAL in its env explicitly (e.g. "10000"), which wins over flowctl's`,
      );
    case "unregistered":
      return;
  }
}
