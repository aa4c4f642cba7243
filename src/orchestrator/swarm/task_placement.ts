/**
 * Where a swarm task runs and how flowctl reaches it (its node's real address, its published
 * ports, its bridge and overlay addresses), and what to say when a node rejects it.
 */
import type { Component } from "../../config/mod.ts";
import { delay } from "../../delay.ts";
import type { DockerClient } from "../../docker/docker_client.ts";
import {
  gatewayBridgeAddress,
  inspectNode,
  nodeAddress,
  type TaskInfo,
} from "../../docker/swarm_api.ts";
import type { PlacedTask } from "./swarm_handle.ts";
import { POLL_MS } from "./swarm_removal.ts";

export interface PlaceOptions {
  /** The run's overlay network. */
  networkId: string | undefined;
  /** Whether `task` runs on flowctl's own machine (flowctl on the manager, task on it). */
  local: boolean;
  /** The node address to fall back on for a local task (the control plane's address). */
  localAddress: string;
}

/** Where `task` of `component` runs and how flowctl reaches it. */
export async function placeTask(
  docker: DockerClient,
  component: Component,
  task: TaskInfo,
  options: PlaceOptions,
): Promise<PlacedTask> {
  const nodeId = task.NodeID ?? "";
  const node = nodeId ? await inspectNode(docker, nodeId) : undefined;
  const containerId = task.Status.ContainerStatus?.ContainerID ?? "";
  const { local } = options;
  // The bridge endpoint is made as the container starts; a task that ended has none.
  let bridgeAddress: string | undefined;
  for (let attempt = 0; local && !bridgeAddress && attempt < 20; attempt++) {
    bridgeAddress = await gatewayBridgeAddress(docker, containerId);
    if (!bridgeAddress) {
      if (task.Status.State !== "running") break;
      await delay(POLL_MS);
    }
  }
  const overlay = task.NetworksAttachments?.find((n) => n.Network.ID === options.networkId);
  const published = new Map<number, number>();
  for (const port of task.Status.PortStatus?.Ports ?? []) {
    if (port.TargetPort !== undefined && port.PublishedPort !== undefined) {
      published.set(port.TargetPort, port.PublishedPort);
    }
  }
  return {
    component: component.id,
    taskId: task.ID,
    containerId,
    nodeId,
    nodeName: node?.Description?.Hostname ?? nodeId,
    nodeAddress: (node ? nodeAddress(node) : undefined) ??
      (local ? options.localAddress : undefined),
    published,
    local,
    bridgeAddress,
    overlayAddress: overlay?.Addresses?.[0]?.split("/")[0],
  };
}

/** Why a node rejected `task`, naming the node and its address, with what to do about it. */
export async function rejectionMessage(
  docker: DockerClient,
  component: Component,
  task: TaskInfo,
): Promise<string> {
  const node = task.NodeID ? await inspectNode(docker, task.NodeID) : undefined;
  const nodeName = node?.Description?.Hostname ?? task.NodeID ?? "unknown";
  const address = node ? nodeAddress(node) : undefined;
  const where = `node "${nodeName}"${address ? ` (${address})` : ""}`;
  const reason = task.Status.Err ?? task.Status.Message ?? task.Status.State;
  const hint = /no such image/i.test(reason)
    ? `; image "${component.image}" must be present on every node that may run it (load it there with "docker save | docker load", or push it to a registry the nodes can pull from)`
    : /denied|unauthorized|authentication required/i.test(reason)
    ? `; that node cannot pull "${component.image}": log in to its registry here ("docker login"), flowctl passes those credentials to the swarm as "docker stack deploy --with-registry-auth" does`
    : "";
  return `Component "${component.id}": its task was rejected on ${where}: ${reason}${hint}`;
}

/**
 * The health check port flowctl cannot reach, if any: one that is not published, of a task on
 * another node (its overlay and bridge addresses are not routed to this one).
 */
export function unprobeablePort(component: Component, placed: PlacedTask): number | undefined {
  const probe = component.health?.probe;
  if (!probe || !("port" in probe) || placed.local) return undefined;
  const published = component.ports.some((p) =>
    p.containerPort === probe.port && p.hostPort !== undefined
  );
  return published ? undefined : probe.port;
}
