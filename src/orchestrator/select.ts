/**
 * The one place an orchestrator kind picks a mode: the orchestrator a pipeline runs with, and
 * what differs per mode that the layers above ask here instead of comparing kinds themselves.
 */
import type { OrchestratorKind, Pipeline, PortMapping, SecretFile } from "../config/mod.ts";
import type { DockerClient } from "../docker/docker_client.ts";
import type { Orchestrator } from "./orchestrator.ts";
import { loadLater } from "../load_later.ts";

/** What differs per mode, for the runner, recovery and the CLI. */
export interface Mode {
  readonly kind: OrchestratorKind;
  /**
   * Components are processes on this host (process mode): they inherit flowctl's environment,
   * find secret files at their host paths, and listen on host ports themselves.
   */
  readonly runsOnHost: boolean;
  /** How the control plane identifies a caller: by its process, or by its container. */
  readonly peerIdentity: "process" | "container";
  /**
   * Who a caller is, is told by the run (`OrchestratorRun.identifyPeer`), not by inspecting
   * local processes or containers: swarm tasks run on other nodes too.
   */
  readonly peersKnownByRun: boolean;
  /** It makes engine objects (containers, networks, services) that a killed flowctl leaves. */
  readonly usesEngine: boolean;
  /** `flowctl status` lists each component's tasks (and the nodes they run on). */
  readonly listsTasks: boolean;
}

const MODES: Readonly<Record<OrchestratorKind, Mode>> = {
  process: {
    kind: "process",
    runsOnHost: true,
    peerIdentity: "process",
    peersKnownByRun: false,
    usesEngine: false,
    listsTasks: false,
  },
  container: {
    kind: "container",
    runsOnHost: false,
    peerIdentity: "container",
    peersKnownByRun: false,
    usesEngine: true,
    listsTasks: false,
  },
  swarm: {
    kind: "swarm",
    runsOnHost: false,
    peerIdentity: "container",
    peersKnownByRun: true,
    usesEngine: true,
    listsTasks: true,
  },
};

/** The mode of an orchestrator kind. */
export function modeOf(kind: OrchestratorKind): Mode {
  return MODES[kind];
}

/** Where a component finds a secret file: its host path, or its path in the container. */
export function secretPath(kind: OrchestratorKind, secret: SecretFile): string | undefined {
  return modeOf(kind).runsOnHost ? secret.hostPath : secret.containerPath;
}

/**
 * A component's port as `flowctl status` shows it: the port a process listens on, or a
 * container's published `hostIp:hostPort->containerPort` (its container port when unpublished).
 */
export function describePort(kind: OrchestratorKind, port: PortMapping): string {
  if (modeOf(kind).runsOnHost) return String(port.hostPort ?? port.containerPort);
  return port.hostPort !== undefined
    ? `${port.hostIp}:${port.hostPort}->${port.containerPort}`
    : String(port.containerPort);
}

/**
 * The orchestrator of the pipeline's kind; engine modes connect to the engine first, and their
 * client also removes engine leftovers. Disposed with `stack`.
 */
export async function connectOrchestrator(
  pipeline: Pipeline,
  stack: AsyncDisposableStack,
  controlPlaneAddress: string | undefined,
): Promise<{ orchestrator: Orchestrator; docker?: DockerClient }> {
  // Each mode is loaded only here: process mode does not pay for the Docker client.
  switch (pipeline.orchestrator) {
    case "process": {
      const { ProcessOrchestrator } = await import("./process/process_orchestrator.ts");
      return { orchestrator: new ProcessOrchestrator() };
    }
    case "container": {
      const { ContainerOrchestrator } = await loadLater<
        typeof import("./container/container_orchestrator.ts")
      >(
        new URL("./container/container_orchestrator.ts", import.meta.url),
      );
      const orchestrator = stack.use(await ContainerOrchestrator.connect());
      return { orchestrator, docker: orchestrator.docker };
    }
    case "swarm": {
      const { SwarmOrchestrator } = await loadLater<typeof import("./swarm/swarm_orchestrator.ts")>(
        new URL("./swarm/swarm_orchestrator.ts", import.meta.url),
      );
      const orchestrator = stack.use(await SwarmOrchestrator.connect({ controlPlaneAddress }));
      return { orchestrator, docker: orchestrator.docker };
    }
  }
}
