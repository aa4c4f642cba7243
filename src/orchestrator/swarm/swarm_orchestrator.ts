/**
 * The swarm orchestrator: one attachable overlay network per run and one Swarm service per
 * component (named `<pipeline>-<id>`, reachable by its id), driven through the Engine API of a
 * swarm manager. Swarm restarts tasks by the component's policy; each task is one ComponentHandle.
 */
import { execInContainer } from "../container_exec.ts";
import { getLogger } from "@logtape/logtape";
import type { Component, Pipeline, SecretFile } from "../../config/mod.ts";
import { presentSecrets } from "../host_paths.ts";
import { delay } from "../../delay.ts";
import { DockerClient } from "../../docker/docker_client.ts";
import { DockerApiError, DockerUnavailableError } from "../../docker/docker_errors.ts";
import { demuxFrames } from "../../docker/frame_demux.ts";
import {
  LABEL_COMPONENT,
  LABEL_PIPELINE,
  LABEL_RUN,
  LABEL_STACK,
  runLabels,
} from "../../docker/labels.ts";
import {
  createOverlayNetwork,
  createSecret,
  createService,
  gatewayBridgeAddress,
  inspectNode,
  listServices,
  listTasks,
  removeSecret,
  removeService,
  serviceByName,
  swarmInfo,
  taskExists,
  type TaskInfo,
  taskLogs,
  TERMINAL_TASK_STATES,
} from "../../docker/swarm_api.ts";
import { UserError } from "../../user_error.ts";
import { asPreflightError, prepareRun } from "../_engine_run.ts";
import { LiveHandles, StoppableHandle } from "../_handle.ts";
import {
  ComponentFailedError,
  type ComponentHandle,
  type ExitStatus,
  type OpenOptions,
  type Orchestrator,
  type OrchestratorRun,
  PreflightError,
  type StopOptions,
} from "../orchestrator.ts";

const logger = getLogger(["flowctl", "swarm"]);

/** The label `docker stack` groups services by, so `docker stack ps <pipeline>` lists a run. */

/** How often task states are polled (the Engine API has no task event stream to follow). */
const POLL_MS = 100;
/** How long a task may stay unschedulable (no node satisfies its constraints) before that fails. */
const UNSCHEDULABLE_MS = 3_000;
/** Quiet time after a task ended before its followed log is closed, and the most it waits. */
const LOG_DRAIN_MS = 300;
const LOG_DRAIN_MAX_MS = 3_000;
/** How long removing a run waits for its tasks to be gone. */
const TASKS_GONE_MS = 60_000;

export interface SwarmOptions {
  /** Where components reach the control plane; default: this node's swarm address. */
  controlPlaneAddress?: string | undefined;
}

export class SwarmOrchestrator implements Orchestrator, Disposable {
  readonly kind = "swarm" as const;
  readonly docker: DockerClient;
  readonly #options: SwarmOptions;

  private constructor(docker: DockerClient, options: SwarmOptions) {
    this.docker = docker;
    this.#options = options;
  }

  /** Connects to the engine. @throws {PreflightError} when it does not answer. */
  static async connect(options: SwarmOptions = {}): Promise<SwarmOrchestrator> {
    try {
      return new SwarmOrchestrator(await DockerClient.connect(), options);
    } catch (error) {
      if (error instanceof DockerUnavailableError) {
        throw new PreflightError([error.message], { cause: error });
      }
      throw error;
    }
  }

  /** Checks that the engine is a swarm manager and that no foreign service holds a name. */
  async check(pipeline: Pipeline, _options: { signal: AbortSignal }): Promise<void> {
    try {
      const problem = await managerProblem(this.docker);
      if (problem) throw new PreflightError([problem]);
      const problems: string[] = [];
      for (const component of pipeline.components) {
        const name = serviceName(pipeline, component);
        const existing = await serviceByName(this.docker, name);
        if (existing && existing.Spec.Labels?.[LABEL_PIPELINE] !== pipeline.name) {
          problems.push(
            `component "${component.id}": a service named "${name}" already exists and was not created by flowctl; remove or rename it`,
          );
        }
      }
      if (problems.length > 0) throw new PreflightError(problems);
    } catch (error) {
      throw asPreflightError(error);
    }
  }

  /** Creates the run's overlay network and makes the control plane reachable from every node. */
  async open(pipeline: Pipeline, options: OpenOptions): Promise<OrchestratorRun> {
    const run = new SwarmRun(this.docker, pipeline, options);
    return await prepareRun(
      run,
      () => run.prepare(this.#options.controlPlaneAddress),
      options.signal,
    );
  }

  [Symbol.dispose](): void {
    this.docker[Symbol.dispose]();
  }
}

/** Why the engine cannot run services (not in a swarm, or only a worker), or undefined. */
async function managerProblem(docker: DockerClient): Promise<string | undefined> {
  const info = await swarmInfo(docker);
  if (info.Swarm.LocalNodeState !== "active") {
    return `the Docker engine at ${docker.host} is not in a swarm (state "${
      info.Swarm.LocalNodeState ?? "unknown"
    }"): run "docker swarm init" on it first, or point DOCKER_HOST at a swarm manager`;
  }
  if (!info.Swarm.ControlAvailable) {
    return `the Docker engine at ${docker.host} is a swarm worker, not a manager: run flowctl against a manager (DOCKER_HOST), or promote this node with "docker node promote"`;
  }
  return undefined;
}

/** A task as flowctl follows it: where it runs and how to reach it. */
interface PlacedTask {
  component: string;
  taskId: string;
  containerId: string;
  nodeId: string;
  nodeName: string;
  /** The node's address (where its host-mode ports are published). */
  nodeAddress: string | undefined;
  local: boolean;
  /** Its address on docker_gwbridge, when it runs on this node. */
  bridgeAddress: string | undefined;
  /** Its address on the run's overlay network. */
  overlayAddress: string | undefined;
}

/** The services and network of one run. */
class SwarmRun implements OrchestratorRun {
  readonly #docker: DockerClient;
  readonly #pipeline: Pipeline;
  readonly #options: OpenOptions;
  readonly #live = new LiveHandles<TaskHandle | UnplacedHandle>();
  readonly #services = new Map<string, string>();
  /** Tasks already handed out per component: a restart waits for a newer one. */
  readonly #seenTasks = new Map<string, Set<string>>();
  readonly #envs = new Map<string, Record<string, string>>();
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
      this.#envs.set(component.id, this.#options.envFor(component, endpoint));
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
  envOf(componentId: string): Readonly<Record<string, string>> | undefined {
    return this.#envs.get(componentId);
  }

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
    const env = this.#envs.get(component.id);
    if (!env) throw new RangeError("prepare() must run before start()");
    const labels = this.#labels(component);
    const condition = { no: "none", "on-failure": "on-failure", always: "any" }[component.restart];
    return {
      Name: serviceName(this.#pipeline, component),
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
          Secrets: (this.#secrets.get(component.id) ?? []).map(({ id, name, secret }) => ({
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
        Networks: [{ Target: this.#networkId, Aliases: [component.id] }],
      },
      Mode: { Replicated: { Replicas: component.replicas } },
      EndpointSpec: {
        Mode: component.endpointMode,
        Ports: component.ports.flatMap((port) =>
          port.hostPort === undefined ? [] : [{
            Protocol: "tcp",
            TargetPort: port.containerPort,
            PublishedPort: port.hostPort,
            // The ingress routing mesh needs IPVS; host mode publishes on the task's node.
            PublishMode: "host",
          }]
        ),
      },
    };
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
 * Removes services one by one and waits until none of their tasks is left: the swarm forgets a
 * removed service's task once its node has stopped it, and this node's containers of it are gone.
 */
export async function removeServicesAndWait(
  docker: DockerClient,
  serviceIds: readonly string[],
): Promise<void> {
  const deadline = Date.now() + TASKS_GONE_MS;
  for (const id of serviceIds) {
    const tasks = await listTasks(docker, id);
    await removeService(docker, id);
    for (const task of tasks) {
      while (await taskExists(docker, task.ID) && Date.now() < deadline) await delay(POLL_MS);
    }
    while (
      (await docker.listContainers("com.docker.swarm.service.id", id)).length > 0 &&
      Date.now() < deadline
    ) {
      await delay(POLL_MS);
    }
  }
}

/** Removes a network, retrying while the endpoints of tasks just removed still hold it. */
export async function removeNetworkWhenFree(docker: DockerClient, id: string): Promise<void> {
  const deadline = Date.now() + TASKS_GONE_MS;
  while (true) {
    try {
      await docker.removeNetwork(id);
      return;
    } catch (error) {
      if (!(error instanceof DockerApiError) || Date.now() > deadline) throw error;
      await delay(POLL_MS * 2);
    }
  }
}

class TaskHandle extends StoppableHandle implements ComponentHandle {
  readonly componentId: string;
  readonly containerId: string;
  readonly taskId: string;
  readonly nodeName: string;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly exited: Promise<ExitStatus>;
  readonly #docker: DockerClient;
  readonly #component: Component;
  readonly #serviceId: string;
  readonly #placed: PlacedTask;
  readonly #logs = new AbortController();
  #stopRequested = false;

  constructor(
    docker: DockerClient,
    component: Component,
    serviceId: string,
    placed: PlacedTask,
    task: TaskInfo,
  ) {
    super();
    this.#docker = docker;
    this.#component = component;
    this.#serviceId = serviceId;
    this.#placed = placed;
    this.componentId = component.id;
    this.containerId = placed.containerId;
    this.taskId = placed.taskId;
    this.nodeName = placed.nodeName;
    this.exited = this.#wait(task);
    const streams = this.#output();
    this.stdout = streams.stdout;
    this.stderr = streams.stderr;
  }

  /**
   * The task's output from the task logs API, demultiplexed. The engine keeps a followed task's
   * log open after the task ended, so it is closed once the task has ended and no output came
   * for LOG_DRAIN_MS (the node may still be shipping its last lines to the manager).
   */
  #output(): { stdout: ReadableStream<Uint8Array>; stderr: ReadableStream<Uint8Array> } {
    let lastChunk = Date.now();
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        lastChunk = Date.now();
        controller.enqueue(chunk);
      },
    });
    taskLogs(this.#docker, this.taskId, this.#logs.signal).then(
      (logs) => logs.pipeTo(writable, { signal: this.#logs.signal }),
    ).catch((error) => {
      logger.debug("Output of {component} ended: {error}", { component: this.componentId, error });
      writable.close().catch(() => {});
    });
    this.exited.then(async () => {
      const ended = Date.now();
      while (Date.now() - lastChunk < LOG_DRAIN_MS && Date.now() - ended < LOG_DRAIN_MAX_MS) {
        await delay(LOG_DRAIN_MS / 4, { signal: this.#logs.signal });
      }
      this.#logs.abort();
    });
    return demuxFrames(readable);
  }

  /** Polls the task until it has ended; its container's exit code is the exit. */
  async #wait(first: TaskInfo): Promise<ExitStatus> {
    let task = first;
    while (!TERMINAL_TASK_STATES.has(task.Status.State)) {
      await delay(POLL_MS * 2);
      const now = (await listTasks(this.#docker, this.#serviceId).catch(() => undefined))
        ?.find((t) => t.ID === this.taskId);
      if (!now) {
        // Removed with its service: by flowctl's stop (the swarm sends SIGTERM, then SIGKILL
        // after the grace period), or behind its back.
        return this.#stopRequested
          ? { code: 143, signal: "SIGTERM" }
          : { code: 137, signal: "SIGKILL" };
      }
      task = now;
    }
    const code = task.Status.ContainerStatus?.ExitCode ?? 137;
    return { code, signal: code === 137 ? "SIGKILL" : code === 143 ? "SIGTERM" : null };
  }

  probeAddress(port: number) {
    const published = this.#component.ports.find((p) =>
      p.containerPort === port && p.hostPort !== undefined
    );
    const placed = this.#placed;
    if (published?.hostPort !== undefined) {
      // Host mode: the port is open on the node that runs the task.
      return {
        hostname: placed.local ? "127.0.0.1" : placed.nodeAddress ?? "127.0.0.1",
        port: published.hostPort,
      };
    }
    return { hostname: placed.bridgeAddress ?? placed.overlayAddress ?? "127.0.0.1", port };
  }

  /** Removes the service (the swarm stops the task with its grace period) and waits for the end. */
  protected async stopOnce({ graceMs, force }: StopOptions): Promise<ExitStatus> {
    const docker = this.#docker;
    this.#stopRequested = true;
    const kill = () => {
      if (this.#placed.local) docker.killContainer(this.containerId).catch(() => {});
    };
    if (graceMs <= 0 || force?.aborted) kill();
    force?.addEventListener("abort", kill, { once: true });
    try {
      await removeServicesAndWait(docker, [this.#serviceId]);
      return await this.exited;
    } finally {
      force?.removeEventListener("abort", kill);
      this.#logs.abort();
    }
  }
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

/** A service whose task had not run yet when the pipeline was asked to stop. */
class UnplacedHandle extends StoppableHandle implements ComponentHandle {
  readonly componentId: string;
  readonly stdout = emptyStream();
  readonly stderr = emptyStream();
  readonly #ended = Promise.withResolvers<ExitStatus>();
  readonly exited = this.#ended.promise;
  readonly #docker: DockerClient;
  readonly #serviceId: string;

  constructor(docker: DockerClient, componentId: string, serviceId: string) {
    super();
    this.#docker = docker;
    this.componentId = componentId;
    this.#serviceId = serviceId;
  }

  probeAddress(port: number) {
    return { hostname: "127.0.0.1", port };
  }

  /** Removes the service before any task of it ran. */
  protected async stopOnce(): Promise<ExitStatus> {
    await removeServicesAndWait(this.#docker, [this.#serviceId]);
    this.#ended.resolve({ code: 143, signal: "SIGTERM" });
    return await this.exited;
  }
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() });
}

function containerOf(task: TaskInfo): string | undefined {
  return task.Status.ContainerStatus?.ContainerID || undefined;
}

export function serviceName(pipeline: Pipeline, component: Component): string {
  return `${pipeline.name}-${component.id}`;
}
