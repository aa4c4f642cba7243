/** Host ports a pipeline will listen on, and which of them something else already holds. */
import type { Component, Pipeline, PortMapping } from "../config/mod.ts";

/**
 * Where a port of `component` listens on the host, if it does: in process mode the process
 * itself listens on 127.0.0.1; in container mode only published ports do.
 */
export function hostBinding(
  pipeline: Pipeline,
  component: Component,
  port: PortMapping,
): { hostname: string; port: number } | undefined {
  if (pipeline.orchestrator === "process") {
    return { hostname: "127.0.0.1", port: port.hostPort ?? port.containerPort };
  }
  if (port.hostPort === undefined || component.networkMode === "host") return undefined;
  return { hostname: port.hostIp, port: port.hostPort };
}

/**
 * One problem line per host port of `pipeline` that cannot be bound right now. In process mode
 * the port of an http or tcp health check counts too: the component listens on it, and a probe
 * answered by whoever holds it would pass for the component.
 */
export function busyHostPorts(pipeline: Pipeline): string[] {
  const problems: string[] = [];
  for (const component of pipeline.components) {
    const bindings = component.ports.flatMap((port) => {
      const binding = hostBinding(pipeline, component, port);
      return binding ? [{ ...binding, what: "port" }] : [];
    });
    const probe = component.health?.probe;
    if (
      pipeline.orchestrator === "process" && (probe?.type === "http" || probe?.type === "tcp") &&
      !bindings.some((b) => b.port === probe.port)
    ) {
      bindings.push({ hostname: "127.0.0.1", port: probe.port, what: "health port" });
    }
    for (const { hostname, port, what } of bindings) {
      if (!isPortFree(hostname, port)) {
        problems.push(
          `component "${component.id}": ${what} ${port} on ${hostname} is already in use`,
        );
      }
    }
  }
  return problems;
}

/** Whether a TCP port can be bound on `hostname` right now. */
export function isPortFree(hostname: string, port: number): boolean {
  try {
    Deno.listen({ hostname, port }).close();
    return true;
  } catch {
    return false;
  }
}
