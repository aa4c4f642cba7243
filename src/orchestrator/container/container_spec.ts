/**
 * What the engine is asked to create for a component: its container configuration (command,
 * env, ports, mounts, resources, network) and its container names.
 */
import type { Component, Pipeline } from "../../config/mod.ts";
import { presentSecrets } from "../host_paths.ts";

/** The pipeline network of a run. */
export interface RunNetwork {
  id: string;
  name: string;
  gateway: string;
}

/** The engine's container configuration of a component, without labels. */
export function containerConfig(
  component: Component,
  env: Record<string, string>,
  network: RunNetwork,
): Record<string, unknown> {
  const hostNetwork = component.networkMode === "host";
  const exposed: Record<string, Record<string, never>> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const port of component.ports) {
    exposed[`${port.containerPort}/tcp`] = {};
    if (port.hostPort !== undefined) {
      (bindings[`${port.containerPort}/tcp`] ??= []).push({
        HostIp: port.hostIp,
        HostPort: String(port.hostPort),
      });
    }
  }
  return {
    Image: component.image,
    ...commandConfig(component),
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    ExposedPorts: exposed,
    HostConfig: {
      Mounts: mounts(component),
      ...resourceConfig(component),
      NetworkMode: hostNetwork ? "host" : network.name,
      PortBindings: hostNetwork ? {} : bindings,
      // The control plane listens on this network's gateway, so that is where the name points.
      ExtraHosts: [`host.docker.internal:${hostNetwork ? "127.0.0.1" : network.gateway}`],
      Privileged: component.privileged,
      Init: true,
    },
    ...(hostNetwork ? {} : {
      NetworkingConfig: { EndpointsConfig: { [network.name]: { Aliases: [component.id] } } },
    }),
  };
}

/**
 * `args` replace the image's CMD. `command` is the entrypoint only in the Go flowctl's form where
 * `args` come with it (`command: [sh, -c]`, `args: <script>`); a `command` alone is the
 * process-mode command of a file written for both modes, and the image's own entrypoint runs.
 */
export function commandConfig(component: Component): Record<string, string[]> {
  if (component.args.length === 0) return {};
  return component.command.length > 0
    ? { Entrypoint: component.command, Cmd: component.args }
    : { Cmd: component.args };
}

/** Volumes and secret files (read-only) as engine mounts; absent optional secrets are skipped. */
export function mounts(component: Component): Record<string, unknown>[] {
  const volumes = component.volumes.map((volume) => ({
    Type: volume.type,
    Source: volume.type === "bind" ? volume.hostPath : volume.name,
    Target: volume.containerPath,
    ReadOnly: volume.readonly,
  }));
  const secrets = presentSecrets(component).map(({ secret, hostPath }) => ({
    Type: "bind",
    Source: hostPath,
    Target: secret.containerPath,
    ReadOnly: true,
  }));
  return [...volumes, ...secrets];
}

/**
 * `resources`: limits → Memory and NanoCpus; requests → MemoryReservation and CpuShares
 * (relative weight, 1024 per CPU requested).
 */
export function resourceConfig(component: Component): Record<string, number> {
  const { limits, requests } = component.resources ?? { limits: {}, requests: {} };
  return {
    ...(limits.memoryBytes !== undefined ? { Memory: limits.memoryBytes } : {}),
    ...(limits.nanoCpus !== undefined ? { NanoCpus: limits.nanoCpus } : {}),
    ...(requests.memoryBytes !== undefined ? { MemoryReservation: requests.memoryBytes } : {}),
    ...(requests.nanoCpus !== undefined
      ? { CpuShares: Math.max(2, Math.round((requests.nanoCpus / 1e9) * 1024)) }
      : {}),
  };
}

/**
 * The container of a component: `<pipeline>-<id>`, or `<pipeline>-<id>-<n>` for replica n of
 * several (numbered from 1, like compose).
 */
export function containerName(pipeline: Pipeline, component: Component, replica = 0): string {
  return replica > 0
    ? `${pipeline.name}-${component.id}-${replica}`
    : `${pipeline.name}-${component.id}`;
}

export function containerNames(pipeline: Pipeline, component: Component): string[] {
  return replicaNumbers(component).map((replica) => containerName(pipeline, component, replica));
}

/** Replica numbers of a component: [0] for a single container, 1..N for several. */
export function replicaNumbers(component: Component): number[] {
  return component.replicas === 1
    ? [0]
    : Array.from({ length: component.replicas }, (_, i) => i + 1);
}

export function replicaKey(componentId: string, replica: number): string {
  return `${componentId}#${replica}`;
}
