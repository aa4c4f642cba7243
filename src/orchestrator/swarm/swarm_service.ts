/** What the engine is asked to create for a component in swarm mode: its service. */
import type { Component, Pipeline, SecretFile } from "../../config/mod.ts";
import { dataPort, drivableComponents } from "../../config/data_edges.ts";

/** What a service is made of besides the component: its name, env, labels, secrets, network. */
export interface ServiceParts {
  name: string;
  env: Record<string, string>;
  labels: Record<string, string>;
  /** The swarm secrets created for the component's present secret files. */
  secrets: readonly { id: string; name: string; secret: SecretFile }[];
  networkId: string | undefined;
  /** A port the node publishes on a port it picks (host mode), unless the file publishes it. */
  dataPort?: number | undefined;
}

/**
 * The data port flowctl publishes for a component the data path may drive (it runs on flowctl's
 * host and dials each driven task at its node), when the file names one (config/data_edges.ts).
 */
export function publishedDataPort(pipeline: Pipeline, component: Component): number | undefined {
  return drivableComponents(pipeline).has(component.id) ? dataPort(component) : undefined;
}

/** The service of a component: `<pipeline>-<id>`. */
export function serviceName(pipeline: Pipeline, component: Component): string {
  return `${pipeline.name}-${component.id}`;
}

/** The engine's service specification of a component: one task template, its restart policy. */
export function serviceSpec(component: Component, service: ServiceParts): Record<string, unknown> {
  const { labels, env } = service;
  const condition = { no: "none", "on-failure": "on-failure", always: "any" }[component.restart];
  return {
    Name: service.name,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: component.image,
        // As in container mode: args are the CMD, and a command given with them the entrypoint.
        ...(component.args.length > 0 ? { Args: component.args } : {}),
        ...(component.args.length > 0 && component.command.length > 0
          ? { Command: component.command }
          : {}),
        Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
        Mounts: component.volumes.map((volume) => ({
          Type: volume.type,
          Source: volume.type === "bind" ? volume.hostPath : volume.name,
          Target: volume.containerPath,
          ReadOnly: volume.readonly,
        })),
        Secrets: service.secrets.map(({ id, name, secret }) => ({
          SecretID: id,
          SecretName: name,
          File: {
            Name: secret.containerPath,
            UID: "0",
            GID: "0",
            Mode: secret.mode ?? 0o444,
          },
        })),
        Labels: labels,
        StopGracePeriod: component.stopGraceMs * 1_000_000,
        Init: true,
        ...(component.privileged
          ? { CapabilityAdd: ["ALL"] } // Swarm has no privileged mode; all capabilities is the closest
          : {}),
      },
      RestartPolicy: {
        Condition: condition,
        // Swarm's delay between attempts; flowctl's max_restarts caps them as elsewhere.
        Delay: 1_000_000_000,
        ...(condition === "none" ? {} : { MaxAttempts: component.maxRestarts }),
      },
      Placement: { Constraints: component.placementConstraints },
      Resources: serviceResources(component),
      Networks: [{ Target: service.networkId, Aliases: [component.id] }],
    },
    Mode: { Replicated: { Replicas: component.replicas } },
    EndpointSpec: {
      Mode: component.endpointMode,
      Ports: [
        ...component.ports.flatMap((port) =>
          port.hostPort === undefined ? [] : [{
            Protocol: "tcp",
            TargetPort: port.containerPort,
            PublishedPort: port.hostPort,
            // The ingress routing mesh needs IPVS; host mode publishes on the task's node.
            PublishMode: "host",
          }]
        ),
        ...dataPortSpec(component, service.dataPort),
      ],
    },
  };
}

/**
 * The data port of a component the data path may drive, published in host mode on a port its
 * node picks (no PublishedPort), so tasks of several components on one node never collide; none
 * when the file publishes that port itself.
 */
function dataPortSpec(component: Component, port: number | undefined): Record<string, unknown>[] {
  if (port === undefined) return [];
  if (component.ports.some((p) => p.containerPort === port && p.hostPort !== undefined)) return [];
  return [{ Protocol: "tcp", TargetPort: port, PublishMode: "host" }];
}

/** `resources`: limits and requests (reservations) in the units the Engine API counts. */
function serviceResources(component: Component): Record<string, unknown> {
  const { limits, requests } = component.resources ?? { limits: {}, requests: {} };
  const amounts = (a: { nanoCpus?: number; memoryBytes?: number }) => ({
    ...(a.nanoCpus !== undefined ? { NanoCPUs: a.nanoCpus } : {}),
    ...(a.memoryBytes !== undefined ? { MemoryBytes: a.memoryBytes } : {}),
  });
  return { Limits: amounts(limits), Reservations: amounts(requests) };
}
