/** The ports an older component may name in its `health_endpoint`, by which it is matched. */
import type { Component } from "../config/mod.ts";

/** Its probe port, ports named "health", and where those are published on the host. */
export function healthPorts(component: Component): number[] {
  const ports = new Set<number>();
  const probe = component.health?.probe;
  if (probe && "port" in probe) ports.add(probe.port);
  for (const port of component.ports) {
    if (port.name !== "health" && !ports.has(port.containerPort)) continue;
    ports.add(port.containerPort);
    if (port.hostPort !== undefined) ports.add(port.hostPort);
  }
  return [...ports];
}
