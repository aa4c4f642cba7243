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
  listServices,
  listTasks,
  removeSecret,
  swarmInfo,
  type TaskInfo,
  updateService,
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
  type PortReach,
  PreflightError,
} from "../orchestrator.ts";
import { type PlacedTask, TaskHandle, UnplacedHandle } from "./swarm_handle.ts";
import { POLL_MS, removeNetworkWhenFree, removeServicesAndWait } from "./swarm_removal.ts";
import { publishedDataPort, serviceName, serviceSpec } from "./swarm_service.ts";
import { placeTask, unprobeablePort } from "./task_placement.ts";
import { nextTask } from "./next_task.ts";
import { chooseControlPlaneAddress, type ControlPlaneAddress } from "./control_plane_address.ts";
import { engineIsLocal } from "./engine_locality.ts";
import { checkTasksReach, probeImage } from "./reach_check.ts";
import { OverlayProbe } from "./overlay_probe.ts";
import { type ClaimableComponent, identifySwarmCaller } from "./swarm_identity.ts";
import { healthPorts } from "../../controlplane/health_ports.ts";
import type { PeerAddress, PeerClaim, PeerRefusal } from "../../controlplane/peer.ts";
import { registryAuthHeader } from "../../registry/registry_auth.ts";

/** How long a caller that fits no placed task is asked again while tasks are being placed. */
const IDENTIFY_PATIENCE_MS = 3_000;

/** The services and network of one run. */
export class SwarmRun implements OrchestratorRun {
  readonly #docker: DockerClient;
  #pipeline: Pipeline;
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
  /** Whether flowctl runs on the manager's machine, so the manager's tasks are local. */
  #onManager = true;
  readonly #claimable: readonly ClaimableComponent[];
  /** Components whose next task flowctl is waiting for. */
  readonly #placing = new Set<string>();
  /** The task each component runs now, which a service update hands over. */
  readonly #current = new Map<string, TaskHandle>();
  /** Where components reach the control plane. */
  #endpoint = "";

  constructor(docker: DockerClient, pipeline: Pipeline, options: OpenOptions) {
    this.#docker = docker;
    this.#pipeline = pipeline;
    this.#options = options;
    this.#claimable = pipeline.components.map((c) => ({ id: c.id, healthPorts: healthPorts(c) }));
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
    this.#onManager = engineIsLocal(this.#docker.endpoint);
    const chosen = await chooseControlPlaneAddress(this.#docker, info, {
      explicit: controlPlaneAddress,
      local: this.#onManager,
    });
    this.#address = chosen.address;
    try {
      await controlPlane.listenOn(this.#address);
    } catch (error) {
      if (error instanceof UserError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new PreflightError([
        `the control plane cannot listen on "${this.#address}" (${chosen.origin}): ${reason}; pass --control-plane-address with an address of this machine that every swarm node reaches`,
      ], { cause: error, exitCode: 2 });
    }
    this.#endpoint = `${this.#address}:${controlPlane.port}`;
    for (const component of this.#pipeline.components) {
      this.envs.set(component.id, this.#options.envFor(component, this.#endpoint));
    }
    const name = `flowctl-${this.#pipeline.name}-${this.#options.runId.slice(0, 8)}`;
    this.#networkId = await createOverlayNetwork(this.#docker, name, this.#labels(), signal);
    await this.#checkReach(chosen);
    await this.#createSecrets();
    if (this.#pipeline.components.some((c) => c.volumes.some((v) => v.type === "bind"))) {
      this.#options.onNotice?.(
        "Bind mounts in swarm mode: each host path must exist on whichever node runs the task",
      );
    }
  }

  /** Refuses the run when tasks on some node cannot dial the control plane (see reach_check.ts). */
  async #checkReach(chosen: ControlPlaneAddress): Promise<void> {
    const { controlPlane, signal, runId } = this.#options;
    const { unreachableFrom, notChecked } = await checkTasksReach(this.#docker, {
      name: `${this.#pipeline.name}-flowctl-reach-${runId.slice(0, 8)}`,
      networkId: this.#networkId ?? "",
      address: chosen.address,
      port: controlPlane.port,
      labels: this.#labels(),
      signal,
      registryAuth: await registryAuthHeader(probeImage()),
    });
    for (const node of notChecked) {
      this.#options.onNotice?.(
        `Could not check that tasks on node ${node} reach the control plane (image "${probeImage()}", set FLOWCTL_SWARM_PROBE_IMAGE to another busybox image the nodes have)`,
      );
    }
    if (unreachableFrom.length > 0) {
      throw new PreflightError([
        `tasks on node ${
          unreachableFrom.join(", node ")
        } cannot reach the control plane at ${chosen.address}:${controlPlane.port} (${chosen.origin}): pass --control-plane-address with an address of this machine that every swarm node reaches, and let port ${controlPlane.port} through its firewall`,
      ], { exitCode: 2 });
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
   * Which component a control plane caller is (see swarm_identity.ts). While a service's task
   * is still being placed, a caller that fits nothing yet is asked again for a while: a task may
   * call before flowctl has seen it run.
   */
  async identifyPeer(
    peer: PeerAddress,
    claim?: PeerClaim,
  ): Promise<string | PeerRefusal | undefined> {
    const deadline = Date.now() + IDENTIFY_PATIENCE_MS;
    while (true) {
      const found = identifySwarmCaller(
        peer.address,
        claim,
        [...this.#placed.values()],
        this.#claimable,
      );
      if (typeof found === "string" || this.#placing.size === 0 || Date.now() > deadline) {
        return found;
      }
      await delay(POLL_MS);
    }
  }

  /** Where flowctl's host reaches the ports of the task `componentId` runs now. */
  reach(componentId: string): PortReach | undefined {
    return this.#current.get(componentId)?.reach();
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

  /**
   * Creates the component's service (or, after its task ended, waits for the task Swarm starts
   * next) and follows that task.
   */
  async start(componentId: string): Promise<ComponentHandle> {
    const component = this.#pipeline.components.find((c) => c.id === componentId);
    if (!component || !this.#networkId) {
      throw new RangeError(`no component "${componentId}" in this run`);
    }
    try {
      let serviceId = this.#services.get(component.id);
      if (!serviceId) {
        serviceId = await createService(this.#docker, this.#serviceSpec(component), {
          // As `docker stack deploy --with-registry-auth`: the nodes pull with the user's login.
          registryAuth: await registryAuthHeader(component.image ?? ""),
        });
        this.#services.set(component.id, serviceId);
      }
      const seen = this.#seenTasks.get(component.id) ?? new Set<string>();
      this.#seenTasks.set(component.id, seen);
      this.#placing.add(component.id);
      let task: TaskInfo | undefined;
      let placed: PlacedTask;
      try {
        task = await nextTask(this.#docker, component, serviceId, {
          seen,
          cancel: this.#options.signal,
          disposed: this.#disposed.signal,
        });
        if (!task) {
          return this.#live.add(new UnplacedHandle(this.#docker, component.id, serviceId));
        }
        seen.add(task.ID);
        placed = await placeTask(this.#docker, component, task, {
          networkId: this.#networkId,
          // The manager's tasks are this machine's only when flowctl runs on the manager.
          local: this.#onManager && task.NodeID === this.#nodeId,
          localAddress: this.#address,
        });
        this.#placed.set(placed.containerId, placed);
      } finally {
        this.#placing.delete(component.id);
      }
      let overlay: OverlayProbe | undefined;
      try {
        overlay = await this.#overlayProbe(component, placed);
      } catch (error) {
        this.#placed.delete(placed.containerId);
        throw error;
      }
      const handle = new TaskHandle(this.#docker, component, serviceId, placed, task, overlay);
      this.#current.set(component.id, handle);
      handle.exited.finally(() => {
        this.#placed.delete(placed.containerId);
        overlay?.[Symbol.asyncDispose]().catch(() => {});
      });
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
   * Updates the service of a changed component in place (`run --watch`): its new spec, posted
   * at the service's current version; the swarm then replaces its task. start() follows the
   * new task. The old task is handed over, so stopping its handle keeps the service.
   * @throws {ComponentFailedError} when the engine refuses the update (the service is as it was).
   */
  async update(component: Component): Promise<void> {
    const serviceId = this.#services.get(component.id);
    if (!serviceId) throw new RangeError(`no service of component "${component.id}" in this run`);
    const before = this.#pipeline;
    this.#pipeline = {
      ...before,
      components: before.components.map((c) => c.id === component.id ? component : c),
    };
    const env = this.envs.of(component.id);
    this.envs.set(component.id, this.#options.envFor(component, this.#endpoint));
    // Before the update: the swarm may stop the old task before the engine has answered.
    this.#current.get(component.id)?.handOver(true);
    try {
      // Tasks of the old spec (restarts nobody followed) are not the update's task.
      const seen = this.#seenTasks.get(component.id) ?? new Set<string>();
      for (const task of await listTasks(this.#docker, serviceId)) seen.add(task.ID);
      this.#seenTasks.set(component.id, seen);
      await updateService(this.#docker, serviceId, this.#serviceSpec(component), {
        registryAuth: await registryAuthHeader(component.image ?? ""),
      });
    } catch (error) {
      this.#pipeline = before;
      this.#current.get(component.id)?.handOver(false);
      if (env) this.envs.set(component.id, env);
      if (!(error instanceof DockerApiError)) throw error;
      throw new ComponentFailedError(
        component.id,
        `Cannot update the swarm service of component "${component.id}": ${error.engineMessage}`,
        { cause: error },
      );
    }
  }

  /**
   * A probe task on the overlay for a task whose probed port flowctl cannot reach (not
   * published, and not on flowctl's machine); undefined when flowctl probes it directly.
   */
  async #overlayProbe(component: Component, placed: PlacedTask): Promise<OverlayProbe | undefined> {
    const port = unprobeablePort(component, placed);
    const health = component.health;
    const probe = health?.probe;
    if (
      port === undefined || !health || !probe || (probe.type !== "http" && probe.type !== "tcp")
    ) {
      return undefined;
    }
    if (!placed.overlayAddress || !this.#networkId) {
      throw new ComponentFailedError(
        component.id,
        `Component "${component.id}" runs on node "${placed.nodeName}", where flowctl cannot probe its port ${port} and its task has no overlay address to probe from: publish it (a "hostPort" in its ports) or use "health: { registered: true }"`,
      );
    }
    return await OverlayProbe.start(this.#docker, {
      name: `${serviceName(this.#pipeline, component)}-probe-${placed.taskId.slice(0, 8)}`,
      networkId: this.#networkId,
      address: placed.overlayAddress,
      probe,
      intervalMs: health.intervalMs,
      timeoutMs: health.timeoutMs,
      labels: this.#labels(),
      registryAuth: await registryAuthHeader(probeImage()),
    });
  }

  #serviceSpec(component: Component): Record<string, unknown> {
    const env = this.envs.of(component.id);
    if (!env) throw new RangeError("prepare() must run before start()");
    return serviceSpec(component, {
      name: serviceName(this.#pipeline, component),
      dataPort: publishedDataPort(this.#pipeline, component),
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
