/**
 * The Swarm part of the Engine API: the node's swarm state, services, tasks, nodes, overlay
 * networks and service logs. Answers are parsed with valibot like the rest of the client.
 */
import * as v from "valibot";
import type { DockerClient } from "./docker_client.ts";

const SwarmInfoSchema = v.looseObject({
  Name: v.optional(v.string()),
  Swarm: v.looseObject({
    NodeID: v.optional(v.string()),
    NodeAddr: v.optional(v.string()),
    LocalNodeState: v.optional(v.string()),
    ControlAvailable: v.optional(v.boolean()),
  }),
});

const ServiceSchema = v.looseObject({
  ID: v.string(),
  Spec: v.looseObject({
    Name: v.string(),
    Labels: v.nullish(v.record(v.string(), v.string())),
  }),
});

const TaskSchema = v.looseObject({
  ID: v.string(),
  ServiceID: v.string(),
  NodeID: v.optional(v.string()),
  Slot: v.optional(v.number()),
  CreatedAt: v.string(),
  DesiredState: v.string(),
  Status: v.looseObject({
    State: v.string(),
    Message: v.optional(v.string()),
    Err: v.optional(v.string()),
    ContainerStatus: v.optional(v.looseObject({
      ContainerID: v.optional(v.string()),
      ExitCode: v.optional(v.number()),
    })),
    /** Host-mode ports as published on the task's node (an engine-picked port shows here). */
    PortStatus: v.optional(v.looseObject({
      Ports: v.nullish(v.array(v.looseObject({
        TargetPort: v.optional(v.number()),
        PublishedPort: v.optional(v.number()),
      }))),
    })),
  }),
  NetworksAttachments: v.optional(v.array(v.looseObject({
    Network: v.looseObject({ ID: v.string() }),
    Addresses: v.nullish(v.array(v.string())),
  }))),
});

const NodeSchema = v.looseObject({
  ID: v.string(),
  Spec: v.optional(v.looseObject({
    Labels: v.nullish(v.record(v.string(), v.string())),
    Availability: v.optional(v.string()),
  })),
  Description: v.optional(v.looseObject({ Hostname: v.optional(v.string()) })),
  Status: v.looseObject({ State: v.string(), Addr: v.optional(v.string()) }),
  /** A manager's address for other managers (`host:2377`); its Status.Addr may be 0.0.0.0. */
  ManagerStatus: v.optional(v.looseObject({ Addr: v.optional(v.string()) })),
});

const GatewayBridgeSchema = v.looseObject({
  Containers: v.nullish(v.record(v.string(), v.looseObject({ IPv4Address: v.string() }))),
  IPAM: v.optional(v.looseObject({
    Config: v.nullish(v.array(v.looseObject({ Gateway: v.optional(v.string()) }))),
  })),
});

export type SwarmInfo = v.InferOutput<typeof SwarmInfoSchema>;
export type ServiceInfo = v.InferOutput<typeof ServiceSchema>;
export type TaskInfo = v.InferOutput<typeof TaskSchema>;
export type NodeInfo = v.InferOutput<typeof NodeSchema>;

/** Task states after which a task never runs again. */
export const TERMINAL_TASK_STATES: ReadonlySet<string> = new Set([
  "complete",
  "failed",
  "shutdown",
  "rejected",
  "orphaned",
  "remove",
]);

/** The engine's own view of its swarm membership (GET /info). */
export async function swarmInfo(docker: DockerClient): Promise<SwarmInfo> {
  return await docker.json(SwarmInfoSchema, "GET", "/info");
}

/**
 * Creates a service; `registryAuth` (an `X-Registry-Auth` value) lets the nodes pull its image
 * from a private registry.
 */
export async function createService(
  docker: DockerClient,
  spec: Record<string, unknown>,
  options: { registryAuth?: string | undefined } = {},
): Promise<string> {
  return (await docker.json(v.looseObject({ ID: v.string() }), "POST", "/services/create", {
    json: spec,
    ...(options.registryAuth ? { headers: { "x-registry-auth": options.registryAuth } } : {}),
  })).ID;
}

/**
 * Replaces a service's spec (`docker service update`): the swarm replaces its task by the
 * service's update config.
 */
export async function updateService(
  docker: DockerClient,
  id: string,
  spec: Record<string, unknown>,
  options: { registryAuth?: string | undefined } = {},
): Promise<void> {
  const current = await docker.json(
    v.looseObject({ Version: v.looseObject({ Index: v.number() }) }),
    "GET",
    `/services/${id}`,
  );
  await docker.call("POST", `/services/${id}/update`, {
    query: { version: current.Version.Index },
    json: spec,
    ...(options.registryAuth ? { headers: { "x-registry-auth": options.registryAuth } } : {}),
  });
}

/** Removes a service; its tasks are shut down by the swarm afterwards. One that is gone is fine. */
export async function removeService(docker: DockerClient, id: string): Promise<void> {
  await docker.call("DELETE", `/services/${id}`, { accept: [404] });
}

export async function listServices(
  docker: DockerClient,
  label: string,
  value: string,
): Promise<ServiceInfo[]> {
  return await docker.json(v.array(ServiceSchema), "GET", "/services", {
    query: { filters: JSON.stringify({ label: [`${label}=${value}`] }) },
  });
}

export async function serviceByName(
  docker: DockerClient,
  name: string,
): Promise<ServiceInfo | undefined> {
  const services = await docker.json(v.array(ServiceSchema), "GET", "/services", {
    query: { filters: JSON.stringify({ name: [name] }) },
  });
  // The name filter matches prefixes too.
  return services.find((service) => service.Spec.Name === name);
}

/** The tasks of a service, newest first; none once the service is removed. */
export async function listTasks(docker: DockerClient, serviceId: string): Promise<TaskInfo[]> {
  const response = await docker.request("GET", "/tasks", {
    query: { filters: JSON.stringify({ service: [serviceId] }) },
    accept: [404],
  });
  if (response.status === 404) {
    await response.body?.cancel();
    return [];
  }
  const tasks = v.parse(v.array(TaskSchema), await response.json());
  return tasks.sort((a, b) => b.CreatedAt.localeCompare(a.CreatedAt));
}

/** Whether the swarm still knows the task (it forgets those of removed services once stopped). */
export async function taskExists(docker: DockerClient, id: string): Promise<boolean> {
  const response = await docker.request("GET", `/tasks/${id}`, { accept: [404] });
  await response.body?.cancel();
  return response.status !== 404;
}

/**
 * Where a node is reached: its Status.Addr, or for a manager that reports 0.0.0.0 there, the
 * host of its ManagerStatus.Addr.
 */
export function nodeAddress(node: NodeInfo): string | undefined {
  const addr = node.Status.Addr;
  if (addr && addr !== "0.0.0.0") return addr;
  const manager = node.ManagerStatus?.Addr;
  return manager ? manager.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1") : undefined;
}

/** Every node of the swarm. */
export async function listNodes(docker: DockerClient): Promise<NodeInfo[]> {
  return await docker.json(v.array(NodeSchema), "GET", "/nodes");
}

export async function inspectNode(
  docker: DockerClient,
  id: string,
): Promise<NodeInfo | undefined> {
  const response = await docker.request("GET", `/nodes/${id}`, { accept: [404] });
  if (response.status === 404) {
    await response.body?.cancel();
    return undefined;
  }
  return v.parse(NodeSchema, await response.json());
}

export async function createOverlayNetwork(
  docker: DockerClient,
  name: string,
  labels: Record<string, string>,
  signal?: AbortSignal,
): Promise<string> {
  return (await docker.json(v.looseObject({ Id: v.string() }), "POST", "/networks/create", {
    // Attachable: a plain container (or a later `docker run --network`) can join it too.
    json: { Name: name, Driver: "overlay", Attachable: true, CheckDuplicate: true, Labels: labels },
    ...(signal ? { signal } : {}),
  })).Id;
}

/**
 * The address of a container of this node on `docker_gwbridge`, the bridge through which a task
 * reaches (and is reached from) the node it runs on.
 */
export async function gatewayBridgeAddress(
  docker: DockerClient,
  containerId: string,
): Promise<string | undefined> {
  const response = await docker.request("GET", "/networks/docker_gwbridge", { accept: [404] });
  if (response.status === 404) {
    await response.body?.cancel();
    return undefined;
  }
  const bridge = v.parse(GatewayBridgeSchema, await response.json());
  return bridge.Containers?.[containerId]?.IPv4Address.split("/")[0];
}

/**
 * The node's own address on `docker_gwbridge` (its gateway), where its tasks reach the node
 * itself; undefined when the node has no such bridge.
 */
export async function gatewayBridgeGateway(docker: DockerClient): Promise<string | undefined> {
  const response = await docker.request("GET", "/networks/docker_gwbridge", { accept: [404] });
  if (response.status === 404) {
    await response.body?.cancel();
    return undefined;
  }
  const bridge = v.parse(GatewayBridgeSchema, await response.json());
  return bridge.IPAM?.Config?.find((c) => c.Gateway)?.Gateway;
}

/**
 * Creates this node's `docker_gwbridge` as the engine would on its first task (a bridge without
 * inter-container traffic, masquerading), for when its gateway is needed before any task ran.
 */
export async function createGatewayBridge(docker: DockerClient): Promise<void> {
  await docker.call("POST", "/networks/create", {
    json: {
      Name: "docker_gwbridge",
      Driver: "bridge",
      CheckDuplicate: true,
      Options: {
        "com.docker.network.bridge.name": "docker_gwbridge",
        "com.docker.network.bridge.enable_icc": "false",
        "com.docker.network.bridge.enable_ip_masquerade": "true",
      },
    },
    accept: [409],
  });
}

/**
 * A task's output (`GET /tasks/{id}/logs`), following, frames still multiplexed; the stream ends
 * when the task has ended and its output is read.
 */
export async function taskLogs(
  docker: DockerClient,
  taskId: string,
  signal?: AbortSignal,
): Promise<ReadableStream<Uint8Array>> {
  const response = await docker.request("GET", `/tasks/${taskId}/logs`, {
    query: { follow: true, stdout: true, stderr: true },
    ...(signal ? { signal } : {}),
  });
  return response.body ?? new ReadableStream({ start: (c) => c.close() });
}

/** Creates a swarm secret holding `data`; returns its id. */
export async function createSecret(
  docker: DockerClient,
  name: string,
  data: Uint8Array,
  labels: Record<string, string>,
): Promise<string> {
  return (await docker.json(v.looseObject({ ID: v.string() }), "POST", "/secrets/create", {
    json: { Name: name, Labels: labels, Data: encodeBase64(data) },
  })).ID;
}

/** Swarm secrets carrying `label=value`. */
export async function listSecrets(
  docker: DockerClient,
  label: string,
  value: string,
): Promise<{ ID: string }[]> {
  return await docker.json(v.array(v.looseObject({ ID: v.string() })), "GET", "/secrets", {
    query: { filters: JSON.stringify({ label: [`${label}=${value}`] }) },
  });
}

/** Removes a secret; one that is gone is fine. */
export async function removeSecret(docker: DockerClient, id: string): Promise<void> {
  await docker.call("DELETE", `/secrets/${id}`, { accept: [404] });
}

function encodeBase64(data: Uint8Array): string {
  let binary = "";
  for (const byte of data) binary += String.fromCharCode(byte);
  return btoa(binary);
}
