/**
 * How the components of a pipeline reach each other, per orchestrator: the one place that
 * decides what `${components.<id>.host}` means. Pure: config resolves references with it.
 */
import type { OrchestratorKind } from "./pipeline.ts";

/** What addressing needs to know of a component. */
export interface AddressedComponent {
  id: string;
  networkMode?: "bridge" | "host" | undefined;
}

/**
 * The host other components reach `component` at: `127.0.0.1` for processes; for containers its
 * network alias (its id), or, for a container on the host's network, the host as containers see
 * it (`host.docker.internal`, which flowctl points at the run network's gateway).
 */
export function componentHost(
  orchestrator: OrchestratorKind,
  component: AddressedComponent,
): string {
  if (orchestrator === "process") return "127.0.0.1";
  return component.networkMode === "host" ? "host.docker.internal" : component.id;
}
