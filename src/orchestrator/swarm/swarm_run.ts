/** The services, network and secrets of one swarm-mode run, and the tasks it follows. */
import type { Component, Pipeline, SecretFile } from "../../config/mod.ts";
import { delay } from "../../delay.ts";
import type { DockerClient } from "../../docker/docker_client.ts";
import { DockerApiError } from "../../docker/docker_errors.ts";
import { LABEL_COMPONENT, LABEL_RUN, LABEL_STACK, runLabels } from "../../docker/labels.ts";
import {
  createOverlayNetwork,
  createSecret,
  createService,
  gatewayBridgeAddress,
  inspectNode,
  listServices,
  listTasks,
  removeSecret,
  swarmInfo,
  type TaskInfo,
  TERMINAL_TASK_STATES,
} from "../../docker/swarm_api.ts";
import { UserError } from "../../user_error.ts";
import { LiveHandles } from "../_handle.ts";
import { execInContainer } from "../container_exec.ts";
import { presentSecrets } from "../host_paths.ts";
import { RunEnvs } from "../run_envs.ts";
import {
  ComponentFailedError,
  type ComponentHandle,
  type OpenOptions,
  type OrchestratorRun,
  PreflightError,
} from "../orchestrator.ts";
import { type PlacedTask, TaskHandle, UnplacedHandle } from "./swarm_handle.ts";
import { POLL_MS, removeNetworkWhenFree, removeServicesAndWait } from "./swarm_removal.ts";
import { serviceName, serviceSpec } from "./swarm_service.ts";

/** How long a task may stay unschedulable (no node satisfies its constraints) before that fails. */
const UNSCHEDULABLE_MS = 3_000;

/** The services and network of one run. */
export class SwarmRun implements OrchestratorRun {
  readonly #docker: DockerClient;
  readonly #pipeline: Pipeline;
  readonly #options: OpenOptions;
  readonly #live = new LiveHandles<TaskHandle | UnplacedHandle>();
  readonly #services = new Map<string, string>();
  /** Tasks already handed out per component: a restart waits for a newer one. */
  readonly #seenTasks = new Map<string, Set<string>>();
  readonly envs = new RunEnvs();
  /** Swarm secrets of this run, per component: created in prepare(), removed with the run. */
  readonly #secrets = new Map<string, { id: string; name: string; secret: SecretFile }[]>();
  readonly #placed = new Map<string, PlacedTask>();
  readonly #disposed = new AbortController();
  #networkId: string | undefined;
  #nodeId = "";
  #address = "127.0.0.1";

  constructor(docker: DockerClient, pipeline: Pipeline, options: OpenOptions) {
    this.#docker = docker;
    this.#pipeline = pipeline;
    this.#options = options;
  }

  get networkId(): string | undefined {
    return this.#networkId;
  }

  get controlPlaneHosts(): readonly string[] {
    return this.#address === "127.0.0.1" ? ["127.0.0.1"] : ["127.0.0.1", this.#address];
  }

  async prepare(controlPlaneAddress: string | undefined): Promise<void> {
    const { signal, controlPlane } = this.#options;
    const info = await swarmInfo(this.#docker);
    this.#nodeId = info.Swarm.NodeID ?? "";
    this.#address = controlPlaneAddress ?? info.Swarm.NodeAddr ?? "127.0.0.1";
    if (this.#address !== "127.0.0.1") {
      try {
        await controlPlane.listenOn(this.#address);
      } catch (error) {
        if (error instanceof UserError) throw error;
        const reason = error instanceof Error ? error.message : String(error);
        throw new PreflightError([
          `the control plane cannot listen on "${this.#address}" (${
            controlPlaneAddress ? "--control-plane-address" : "this node's swarm address"
          }): ${reason}; pass --control-plane-address with an address of this machine that every swarm node reaches`,
        ], { cause: error });
      }
    }
    const endpoint = `${this.#address}:${controlPlane.port}`;
    for (const component of this.#pipeline.components) {
      this.envs.set(component.id, this.#options.envFor(component, endpoint));
    }
    const name = `flowctl-${this.#pipeline.name}-${this.#options.runId.slice(0, 8)}`;
    this.#networkId = await createOverlayNetwork(this.#docker, name, this.#labels(), signal);
    await this.#createSecrets();
    if (this.#pipeline.components.some((c) => c.volumes.some((v) => v.type === "bind"))) {
      this.#options.onNotice?.(
        "Bind mounts in swarm mode: each host path must exist on whichever node runs the task",
      );
    }
  }

  /** One swarm secret per present secret file, holding its content (never printed). */
  async #createSecrets(): Promise<void> {
    const suffix = this.#options.runId.slice(0, 8);
    for (const component of this.#pipeline.components) {
      const created = [];
      for (const { secret, hostPath } of presentSecrets(component)) {
        const name = `${this.#pipeline.name}-${component.id}-${secret.name}-${suffix}`;
        const id = await createSecret(
          this.#docker,
          name,
          await Deno.readFile(hostPath),
          this.#labels(component),
        );
        created.push({ id, name, secret });
      }
      this.#secrets.set(component.id, created);
    }
  }

  #labels(component?: Component): Record<string, string> {
    return {
      ...runLabels(this.#pipeline.name, this.#options.runId),
      [LABEL_STACK]: this.#pipeline.name,
      ...(component ? { [LABEL_COMPONENT]: component.id } : {}),
    };
  }

  /**
   * Addresses a control plane caller may come from when it is the task in `containerId`: its
   * bridge and overlay addresses, and its node's address (where a node masquerades its tasks'
   * traffic) while no other component of this run has a task on that node.
   */
  peerAddresses(containerId: string): string[] {
    const task = this.#placed.get(containerId);
    if (!task) return [];
    const addresses = [task.bridgeAddress, task.overlayAddress];
    const shared = [...this.#placed.values()].some((other) =>
      other.nodeId === task.nodeId && other.component !== task.component
    );
    if (!task.local && !shared) addresses.push(task.nodeAddress);
    return addresses.filter((a): a is string => a !== undefined);
  }

  /**
   * Creates the component's service (or, after its task ended, waits for the task Swarm starts
   * next) and follows that task.
   */
  /**
   * Runs `command` inside the handle's task container (Engine exec); only a task on this node
   * can be reached that way.
   */
  async exec(
    handle: ComponentHandle,
    command: readonly string[],
    { signal }: { signal: AbortSignal },
  ): Promise<number> {
    const placed = handle.containerId ? this.#placed.get(handle.containerId) : undefined;
    if (!handle.containerId || !placed?.local) {
      throw new UserError(
        `Cannot run a command beside component "${handle.componentId}": its swarm task is not on this node (exec probes and flowctl exec need it here)`,
      );
    }
    return await execInContainer(this.#docker, handle.containerId, command, { signal });
  }

  async start(componentId: string): Promise<ComponentHandle> {
    const component = this.#pipeline.components.find((c) => c.id === componentId);
    if (!component || !this.#networkId) {
      throw new RangeError(`no component "${componentId}" in this run`);
    }
    try {
      let serviceId = this.#services.get(component.id);
      if (!serviceId) {
        serviceId = await createService(this.#docker, this.#serviceSpec(component));
        this.#services.set(component.id, serviceId);
      }
      const seen = this.#seenTasks.get(component.id) ?? new Set<string>();
      this.#seenTasks.set(component.id, seen);
      const task = await this.#nextTask(component, serviceId, seen);
      if (!task) return this.#live.add(new UnplacedHandle(this.#docker, component.id, serviceId));
      seen.add(task.ID);
      const placed = await this.#place(component, task);
      const unreachable = unprobeablePort(component, placed);
      if (unreachable !== undefined) {
        throw new ComponentFailedError(
          component.id,
          `Component "${component.id}" runs on node "${placed.nodeName}", where flowctl cannot probe its port ${unreachable}: publish it (a "hostPort" in its ports) or use "health: { registered: true }"`,
        );
      }
      this.#placed.set(placed.containerId, placed);
      const handle = new TaskHandle(this.#docker, component, serviceId, placed, task);
      handle.exited.finally(() => this.#placed.delete(placed.containerId));
      return this.#live.add(handle);
    } catch (error) {
      if (error instanceof DockerApiError) {
        throw new ComponentFailedError(
          component.id,
          `Cannot start component "${component.id}" as a swarm service: ${error.engineMessage}`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  /**
   * Waits for the newest task of the service that flowctl has not followed yet to run (or to
   * have ended: a quick exit). A task the swarm rejects, or cannot place, fails the start.
   */
  async #nextTask(
    component: Component,
    serviceId: string,
    seen: Set<string>,
  ): Promise<TaskInfo | undefined> {
    let unschedulableSince: number | undefined;
    while (true) {
      // Ctrl+C while the swarm is still placing or pulling: the caller stops the service.
      if (this.#options.signal.aborted) return undefined;
      if (this.#disposed.signal.aborted) {
        throw new ComponentFailedError(
          component.id,
          `Component "${component.id}" was stopped before its task ran`,
        );
      }
      const task = (await listTasks(this.#docker, serviceId)).find((t) => !seen.has(t.ID));
      const state = task?.Status.State;
      if (task && (state === "rejected" || (state === "failed" && !containerOf(task)))) {
        throw new ComponentFailedError(component.id, await this.#rejection(component, task));
      }
      if (task && state === "pending" && task.Status.Err) {
        unschedulableSince ??= Date.now();
        if (Date.now() - unschedulableSince > UNSCHEDULABLE_MS) {
          throw new ComponentFailedError(
            component.id,
            `Component "${component.id}" cannot be placed on any swarm node: ${task.Status.Err}${
              component.placementConstraints.length > 0
                ? ` (placement constraints: ${component.placementConstraints.join(", ")})`
                : ""
            }`,
          );
        }
      }
      if (
        task && containerOf(task) && (state === "running" || TERMINAL_TASK_STATES.has(state ?? ""))
      ) {
        return task;
      }
      await delay(POLL_MS);
    }
  }

  async #rejection(component: Component, task: TaskInfo): Promise<string> {
    const node = task.NodeID ? await inspectNode(this.#docker, task.NodeID) : undefined;
    const nodeName = node?.Description?.Hostname ?? task.NodeID ?? "unknown";
    const reason = task.Status.Err ?? task.Status.Message ?? task.Status.State;
    const missingImage = /no such image/i.test(reason);
    return `Component "${component.id}": its task was rejected on node "${nodeName}": ${reason}${
      missingImage
        ? `; image "${component.image}" must be present on every node that may run it (load it there with "docker save | docker load", or push it to a registry the nodes can pull from)`
        : ""
    }`;
  }

  async #place(component: Component, task: TaskInfo): Promise<PlacedTask> {
    const nodeId = task.NodeID ?? "";
    const node = nodeId ? await inspectNode(this.#docker, nodeId) : undefined;
    const containerId = containerOf(task) ?? "";
    const local = nodeId === this.#nodeId;
    // The bridge endpoint is made as the container starts; a task that ended has none.
    let bridgeAddress: string | undefined;
    for (let attempt = 0; local && !bridgeAddress && attempt < 20; attempt++) {
      bridgeAddress = await gatewayBridgeAddress(this.#docker, containerId);
      if (!bridgeAddress) {
        if (task.Status.State !== "running") break;
        await delay(POLL_MS);
      }
    }
    const overlay = task.NetworksAttachments?.find((n) => n.Network.ID === this.#networkId);
    const nodeAddress = node?.Status.Addr && node.Status.Addr !== "0.0.0.0"
      ? node.Status.Addr
      : local
      ? this.#address
      : undefined;
    return {
      component: component.id,
      taskId: task.ID,
      containerId,
      nodeId,
      nodeName: node?.Description?.Hostname ?? nodeId,
      nodeAddress,
      local,
      bridgeAddress,
      overlayAddress: overlay?.Addresses?.[0]?.split("/")[0],
    };
  }

  #serviceSpec(component: Component): Record<string, unknown> {
    const env = this.envs.of(component.id);
    if (!env) throw new RangeError("prepare() must run before start()");
    return serviceSpec(component, {
      name: serviceName(this.#pipeline, component),
      env,
      labels: this.#labels(component),
      secrets: this.#secrets.get(component.id) ?? [],
      networkId: this.#networkId,
    });
  }

  /**
   * Removes the run's services in reverse start order, waits until their tasks are gone, then
   * removes the network.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#disposed.abort();
    await this.#live.killAll();
    const services = await listServices(
      this.#docker,
      LABEL_RUN,
      this.#options.runId,
    ).catch(() => []);
    const order = this.#pipeline.levels.flat().reverse();
    services.sort((a, b) =>
      order.indexOf(a.Spec.Labels?.[LABEL_COMPONENT] ?? "") -
      order.indexOf(b.Spec.Labels?.[LABEL_COMPONENT] ?? "")
    );
    await removeServicesAndWait(this.#docker, services.map((s) => s.ID));
    for (const created of this.#secrets.values()) {
      for (const { id } of created) await removeSecret(this.#docker, id);
    }
    const networkId = this.#networkId;
    if (networkId) await removeNetworkWhenFree(this.#docker, networkId);
  }
}

/**
 * The health check port flowctl cannot reach, if any: one that is not published, of a task on
 * another node (its overlay and bridge addresses are not routed to this one).
 */
function unprobeablePort(component: Component, placed: PlacedTask): number | undefined {
  const probe = component.health?.probe;
  if (!probe || !("port" in probe) || placed.local) return undefined;
  const published = component.ports.some((p) =>
    p.containerPort === probe.port && p.hostPort !== undefined
  );
  return published ? undefined : probe.port;
}

function containerOf(task: TaskInfo): string | undefined {
  return task.Status.ContainerStatus?.ContainerID || undefined;
}
