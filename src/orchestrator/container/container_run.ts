/** The containers, network and volumes of one container-mode run. */
import { getLogger } from "@logtape/logtape";
import type { Component, Pipeline } from "../../config/mod.ts";
import { delay } from "../../delay.ts";
import type { DockerClient } from "../../docker/docker_client.ts";
import { imageExists, pullImage } from "../../docker/image_api.ts";
import { DockerApiError, DockerUnavailableError } from "../../docker/docker_errors.ts";
import { demuxFrames } from "../../docker/frame_demux.ts";
import {
  LABEL_COMPONENT,
  LABEL_PIPELINE,
  LABEL_REPLICA,
  LABEL_RUN,
  ownerLabels,
  runLabels,
} from "../../docker/labels.ts";
import { emptyStream, LiveHandles } from "../_handle.ts";
import { ReplicaSetHandle } from "../_replica_set.ts";
import { execInContainer } from "../container_exec.ts";
import { RunEnvs } from "../run_envs.ts";
import {
  ComponentFailedError,
  type ComponentHandle,
  type OpenOptions,
  type OrchestratorRun,
  PreflightError,
} from "../orchestrator.ts";
import { ContainerHandle } from "./container_handle.ts";
import {
  containerConfig,
  containerName,
  replicaKey,
  replicaNumbers,
  type RunNetwork,
} from "./container_spec.ts";
import { ENGINE_RETURN_MS, retryEngine } from "./engine_retry.ts";

const logger = getLogger(["flowctl", "docker"]);
/** Creates tried while the name is held by a container of ours (an engine just restarted). */
const NAME_CONFLICT_TRIES = 5;

/** The containers and network of one run. */
export class ContainerRun implements OrchestratorRun {
  readonly #docker: DockerClient;
  readonly #pipeline: Pipeline;
  readonly #options: OpenOptions;
  readonly #live = new LiveHandles<ContainerHandle>();
  /**
   * Each component's container in this run, by replica, with the attempt (FLOWCTL_ATTEMPT) it
   * was created for. A restart creates a new container, as the environment is fixed at creation.
   */
  readonly #containers = new Map<string, { id: string; attempt: number }>();
  /** Starts of each component so far: FLOWCTL_ATTEMPT of the next one. */
  readonly #attempts = new Map<string, number>();
  /**
   * Containers of earlier attempts, renamed out of their name's way and removed once the next
   * attempt's container started: removed at once, they could race an engine that is shutting
   * down, which can leave a container it can no longer delete.
   */
  readonly #retired: string[] = [];
  readonly envs = new RunEnvs();
  /** Named volumes this run created (removed with it); those that existed before are kept. */
  readonly #volumes: string[] = [];
  #network: RunNetwork | undefined;
  #ownsNetwork = true;

  constructor(docker: DockerClient, pipeline: Pipeline, options: OpenOptions) {
    this.#docker = docker;
    this.#pipeline = pipeline;
    this.#options = options;
  }

  get networkId(): string | undefined {
    return this.#network?.id;
  }

  get controlPlaneHosts(): readonly string[] {
    return this.#network ? ["127.0.0.1", this.#network.gateway] : ["127.0.0.1"];
  }

  /** Runs `command` inside the handle's container (Engine exec). */
  async exec(
    handle: ComponentHandle,
    command: readonly string[],
    { signal }: { signal: AbortSignal },
  ): Promise<number> {
    if (handle.containerId === undefined) {
      throw new RangeError(`component "${handle.componentId}" has no container`);
    }
    return await execInContainer(this.#docker, handle.containerId, command, { signal });
  }

  async prepare(): Promise<void> {
    const { signal, controlPlane } = this.#options;
    for (const component of this.#pipeline.components) await this.#pull(component, signal);
    await this.#createVolumes(signal);
    const joined = this.#options.joins instanceof ContainerRun ? this.#options.joins : undefined;
    if (joined && joined.#network) {
      // A reload's components join the running network; its owner removes it.
      this.#network = joined.#network;
      this.#ownsNetwork = false;
    } else {
      this.#network = await this.#createNetwork(signal);
      await controlPlane.listenOn(this.#network.gateway);
    }
    const endpoint = `host.docker.internal:${controlPlane.port}`;
    for (const component of this.#pipeline.components) {
      this.envs.set(component.id, this.#options.envFor(component, endpoint));
    }
    // A reload's containers are created when started: until then the old ones hold the names.
    if (!this.#ownsNetwork) return;
    await Promise.all(
      this.#pipeline.components.flatMap((component) =>
        replicaNumbers(component).map(async (replica) => {
          signal.throwIfAborted();
          const id = await this.#create(component, replica, 1);
          this.#containers.set(replicaKey(component.id, replica), { id, attempt: 1 });
        })
      ),
    );
  }

  /** Creates the named volumes of the pipeline that do not exist yet, labelled as this run's. */
  async #createVolumes(signal: AbortSignal): Promise<void> {
    const names = new Set(
      this.#pipeline.components.flatMap((c) =>
        c.volumes.flatMap((volume) => volume.type === "volume" ? [volume.name] : [])
      ),
    );
    for (const name of names) {
      const path = `/volumes/${encodeURIComponent(name)}`;
      const found = await this.#docker.request("GET", path, { accept: [404], signal });
      await found.body?.cancel();
      if (found.status !== 404) continue;
      await this.#docker.call("POST", "/volumes/create", {
        json: { Name: name, Labels: runLabels(this.#pipeline.name, this.#options.runId) },
        signal,
      });
      this.#volumes.push(name);
    }
  }

  /** Pulls the component's image when its pull policy asks for it. */
  async #pull(component: Component, signal: AbortSignal): Promise<void> {
    const image = component.image ?? "";
    if (component.pullPolicy === "never") return;
    const present = await imageExists(this.#docker, image);
    if (present && component.pullPolicy === "missing") return;
    this.#options.onNotice?.(`Pulling image ${image} for ${component.id}`);
    try {
      await pullImage(this.#docker, image, {
        signal,
        onProgress: (line) => {
          logger.debug("{component}: {line}", { component: component.id, line });
          this.#options.onPullProgress?.(component.id, line);
        },
      });
    } catch (error) {
      if (!(error instanceof DockerApiError) || signal.aborted) throw error;
      if (present) return; // "always" with a local copy: keep going with it
      throw new PreflightError([
        `component "${component.id}": image "${image}" not found locally and pull failed: ${error.engineMessage}`,
      ]);
    }
  }

  async #createNetwork(signal: AbortSignal): Promise<RunNetwork> {
    const name = `flowctl-${this.#pipeline.name}-${this.#options.runId.slice(0, 8)}`;
    const id = await retryEngine(() =>
      this.#docker.createNetwork(name, {
        ...runLabels(this.#pipeline.name, this.#options.runId),
        ...ownerLabels(),
      }, signal)
    );
    const info = await this.#docker.inspectNetwork(id);
    const gateway = info.IPAM?.Config?.find((c) => c.Gateway)?.Gateway;
    if (!gateway) {
      await this.#docker.removeNetwork(id);
      throw new PreflightError([`network "${name}" has no gateway address`]);
    }
    return { id, name, gateway };
  }

  async start(componentId: string): Promise<ComponentHandle> {
    const component = this.#pipeline.components.find((c) => c.id === componentId);
    if (!component) throw new RangeError(`no component "${componentId}" in this run`);
    const attempt = (this.#attempts.get(componentId) ?? 0) + 1;
    this.#attempts.set(componentId, attempt);
    if (component.replicas === 1) return await this.#startReplica(component, 0, attempt);
    const started: ContainerHandle[] = [];
    try {
      for (const replica of replicaNumbers(component)) {
        started.push(await this.#startReplica(component, replica, attempt));
      }
    } catch (error) {
      await Promise.allSettled(started.map((handle) => handle.stop({ graceMs: 0 })));
      throw error;
    }
    return new ReplicaSetHandle(started);
  }

  /** Starts one container of the component (replica 0: the only one) for `attempt`. */
  async #startReplica(
    component: Component,
    replica: number,
    attempt: number,
  ): Promise<ContainerHandle> {
    const network = this.#network;
    if (!network) throw new RangeError("prepare() must run before start()");
    const docker = this.#docker;
    const key = replicaKey(component.id, replica);
    try {
      const id = await retryEngine(async () => {
        const known = this.#containers.get(key);
        if (known && known.attempt !== attempt) await this.#retire(key, component, replica);
        const current = this.#containers.get(key) ??
          { id: await this.#create(component, replica, attempt), attempt };
        this.#containers.set(key, current);
        await docker.startContainer(current.id);
        return current.id;
      });
      await this.#removeRetired();
      // A container's stream replays from its creation, so nothing printed before is lost.
      const logs = await retryEngine(() => docker.logs(id)).catch((error) => {
        logger.warn("No output of {component} can be captured: {error}", {
          component: component.id,
          error,
        });
        return undefined;
      });
      const streams = logs ? demuxFrames(logs) : { stdout: emptyStream(), stderr: emptyStream() };
      const inspect = await docker.inspectContainer(id);
      // A host-network container has no address of its own (it would look like any local caller).
      const address = inspect?.NetworkSettings.Networks?.[network.name]?.IPAddress || undefined;
      return this.#live.add(new ContainerHandle(docker, component, id, address, streams));
    } catch (error) {
      if (error instanceof DockerApiError) {
        throw new ComponentFailedError(
          component.id,
          `Cannot start component "${component.id}": ${error.engineMessage}`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  /**
   * Moves the container of an earlier attempt out of its name's way (a rename: no filesystem is
   * touched); it is removed once the next one started. Renamed already (a retried step), or
   * gone (a stop removes it), is done.
   */
  async #retire(key: string, component: Component, replica: number): Promise<void> {
    const known = this.#containers.get(key);
    if (!known) return;
    const name = `${containerName(this.#pipeline, component, replica)}-attempt-${known.attempt}`;
    const inspect = await this.#docker.inspectContainer(known.id);
    if (inspect && inspect.Name !== `/${name}`) {
      await this.#docker.call("POST", `/containers/${known.id}/rename`, {
        query: { name },
        accept: [404],
      });
    }
    if (inspect) this.#retired.push(known.id);
    this.#containers.delete(key);
  }

  /** Removes the containers of earlier attempts; what fails now is removed with the run. */
  async #removeRetired(): Promise<void> {
    while (this.#retired.length > 0) {
      const id = this.#retired.shift() ?? "";
      await this.#docker.removeContainer(id).catch((error) => {
        logger.debug("Removing {container} failed: {error}", { container: id, error });
      });
    }
  }

  /** Creates a container of the component for `attempt` (not started); returns its id. */
  async #create(component: Component, replica: number, attempt: number): Promise<string> {
    const network = this.#network;
    const componentEnv = this.envs.of(component.id);
    if (!network || !componentEnv) throw new RangeError("prepare() must run before start()");
    // The Go flowctl's attempt counter: 1 at the first start, one more at each restart.
    const env = {
      ...componentEnv,
      FLOWCTL_ATTEMPT: component.env.FLOWCTL_ATTEMPT ?? String(attempt),
      ...(replica > 0 ? { FLOWCTL_REPLICA: String(replica) } : {}),
    };
    const docker = this.#docker;
    const pipeline = this.#pipeline;
    const name = containerName(pipeline, component, replica);
    const config = {
      ...containerConfig(component, env, network),
      // metadata.labels first: flowctl's own labels are how it finds what it made.
      Labels: {
        ...pipeline.labels,
        ...runLabels(pipeline.name, this.#options.runId),
        ...ownerLabels(),
        [LABEL_COMPONENT]: component.id,
        ...(replica > 0 ? { [LABEL_REPLICA]: String(replica) } : {}),
      },
    };
    try {
      for (let tries = 1;; tries++) {
        // A stopped container of ours from an earlier attempt holds the name: remove it first.
        const previous = await docker.containerByName(name);
        if (previous?.Labels?.[LABEL_PIPELINE] === pipeline.name) {
          await docker.removeContainer(previous.Id);
        }
        try {
          return await docker.createContainer(name, config);
        } catch (error) {
          // An engine that has just restarted can list its containers before it has loaded
          // them all, or answer a rename of one with 404: the name is then still held by a
          // container of ours the lookup above did not see yet. Look again, a few times.
          const held = error instanceof DockerApiError && error.status === 409;
          if (!held || tries >= NAME_CONFLICT_TRIES) throw error;
          const holder = await docker.containerByName(name);
          if (holder && holder.Labels?.[LABEL_PIPELINE] !== pipeline.name) throw error;
          await delay(250 * tries);
        }
      }
    } catch (error) {
      if (error instanceof DockerApiError) {
        throw new ComponentFailedError(
          component.id,
          `Cannot create a container for component "${component.id}": ${error.engineMessage}`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  /**
   * Removes every container of this run and the network. When the engine is away (restarting),
   * retries until it answers, for up to ENGINE_RETURN_MS.
   * @throws {DockerUnavailableError} when it never came back; `flowctl down` finishes the job.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#live.killAll();
    const deadline = Date.now() + ENGINE_RETURN_MS;
    let told = false;
    while (true) {
      try {
        // Everything of this run, even what a failed start left half-made.
        for (const container of await this.#docker.listContainers(LABEL_RUN, this.#options.runId)) {
          await this.#docker.removeContainer(container.Id);
        }
        const network = this.#ownsNetwork ? this.#network : undefined;
        if (network) await retryEngine(() => this.#docker.removeNetwork(network.id));
        while (this.#volumes.length > 0) {
          const name = this.#volumes[0] ?? "";
          await this.#docker.call("DELETE", `/volumes/${encodeURIComponent(name)}`, {
            accept: [404],
          });
          this.#volumes.shift();
        }
        return;
      } catch (error) {
        if (!(error instanceof DockerUnavailableError) || Date.now() > deadline) throw error;
        if (!told) {
          this.#options.onNotice?.(
            `The Docker engine does not answer; waiting up to ${
              ENGINE_RETURN_MS / 1000
            }s for it to remove this run's containers`,
          );
        }
        told = true;
        await delay(500);
      }
    }
  }
}
