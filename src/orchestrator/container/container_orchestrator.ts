/**
 * The container orchestrator: one bridge network per run, one container per component (named
 * `<pipeline>-<id>`, aliased by its id; with `replicas: N`, N containers `<pipeline>-<id>-1..N`
 * sharing the alias), driven through the Docker Engine API.
 */
import { getLogger } from "@logtape/logtape";
import type { Component, Pipeline } from "../../config/mod.ts";
import { delay } from "../../delay.ts";
import { DockerClient } from "../../docker/docker_client.ts";
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
import { asPreflightError, prepareRun } from "../_engine_run.ts";
import { LiveHandles, StoppableHandle } from "../_handle.ts";
import { ReplicaSetHandle } from "../_replica_set.ts";
import { missingPaths, presentSecrets } from "../host_paths.ts";
import { busyHostPorts } from "../host_ports.ts";
import { execInContainer } from "../container_exec.ts";
import {
  type CheckOptions,
  ComponentFailedError,
  type ComponentHandle,
  type ExitStatus,
  type OpenOptions,
  type Orchestrator,
  type OrchestratorRun,
  PreflightError,
  type StopOptions,
} from "../orchestrator.ts";

const logger = getLogger(["flowctl", "docker"]);

/** How long flowctl waits for an engine that went away (restarted) before giving up on it. */
const ENGINE_RETURN_MS = 60_000;

/** The pipeline network of a run. */
interface RunNetwork {
  id: string;
  name: string;
  gateway: string;
}

/**
 * Runs components as Docker containers through the Engine API: `check()` asks the engine (and
 * an image's registry) without changing anything; `open()` pulls, creates the run's network and
 * every container. Disposing closes the engine client.
 */
export class ContainerOrchestrator implements Orchestrator, Disposable {
  readonly kind = "container" as const;
  /** The engine client, for cleanup beyond this orchestrator's runs (leftovers). */
  readonly docker: DockerClient;

  private constructor(docker: DockerClient) {
    this.docker = docker;
  }

  /** Connects to the engine. @throws {PreflightError} when it does not answer. */
  static async connect(): Promise<ContainerOrchestrator> {
    try {
      return new ContainerOrchestrator(await DockerClient.connect());
    } catch (error) {
      if (error instanceof DockerUnavailableError) {
        throw new PreflightError([error.message], { cause: error });
      }
      throw error;
    }
  }

  /**
   * Checks names, images (present, or pullable: the registry is asked, nothing is pulled) and
   * host ports.
   */
  async check(pipeline: Pipeline, { signal, hostPorts = true }: CheckOptions): Promise<void> {
    const problems: string[] = [];
    try {
      await Promise.all(pipeline.components.map(async (component) => {
        problems.push(...await this.#checkComponent(pipeline, component, signal));
      }));
    } catch (error) {
      throw asPreflightError(error);
    }
    problems.push(...(hostPorts ? busyHostPorts(pipeline) : []), ...missingPaths(pipeline));
    if (problems.length > 0) throw new PreflightError(problems);
  }

  async #checkComponent(
    pipeline: Pipeline,
    component: Component,
    signal: AbortSignal,
  ): Promise<string[]> {
    const problems: string[] = [];
    for (const name of containerNames(pipeline, component)) {
      const existing = await this.docker.containerByName(name);
      if (existing && existing.Labels?.[LABEL_PIPELINE] !== pipeline.name) {
        problems.push(
          `component "${component.id}": a container named "${name}" already exists and was not created by flowctl; remove or rename it`,
        );
      }
    }
    const image = component.image ?? "";
    if (component.pullPolicy === "always" || await this.docker.imageExists(image)) return problems;
    if (component.pullPolicy === "never") {
      problems.push(
        `component "${component.id}": image "${image}" is not present locally and pull_policy is "never"`,
      );
      return problems;
    }
    try {
      await this.docker.checkPullable(image, signal);
    } catch (error) {
      if (!(error instanceof DockerApiError)) throw error;
      problems.push(
        `component "${component.id}": image "${image}" not found locally and pull failed: ${error.engineMessage}`,
      );
    }
    return problems;
  }

  /** Pulls what is missing, creates the run's network and every container (not started). */
  async open(pipeline: Pipeline, options: OpenOptions): Promise<OrchestratorRun> {
    const run = new ContainerRun(this.docker, pipeline, options);
    return await prepareRun(run, () => run.prepare(), options.signal);
  }

  [Symbol.dispose](): void {
    this.docker[Symbol.dispose]();
  }
}

/** The containers and network of one run. */
class ContainerRun implements OrchestratorRun {
  readonly #docker: DockerClient;
  readonly #pipeline: Pipeline;
  readonly #options: OpenOptions;
  readonly #live = new LiveHandles<ContainerHandle>();
  /**
   * Each component's container in this run. A restart starts the same container again instead
   * of removing it and creating another: a removal racing an engine that is shutting down can
   * leave a container the engine can no longer delete.
   */
  readonly #containers = new Map<string, { id: string; started: boolean }>();
  readonly #envs = new Map<string, Record<string, string>>();
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

  envOf(componentId: string): Readonly<Record<string, string>> | undefined {
    return this.#envs.get(componentId);
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
      this.#envs.set(component.id, this.#options.envFor(component, endpoint));
    }
    // A reload's containers are created when started: until then the old ones hold the names.
    if (!this.#ownsNetwork) return;
    await Promise.all(
      this.#pipeline.components.flatMap((component) =>
        replicaNumbers(component).map(async (replica) => {
          signal.throwIfAborted();
          const id = await this.#create(component, replica);
          this.#containers.set(replicaKey(component.id, replica), { id, started: false });
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
    const present = await this.#docker.imageExists(image);
    if (present && component.pullPolicy === "missing") return;
    this.#options.onNotice?.(`Pulling image ${image} for ${component.id}`);
    try {
      await this.#docker.pullImage(image, {
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
    if (component.replicas === 1) return await this.#startReplica(component, 0);
    const started: ContainerHandle[] = [];
    try {
      for (const replica of replicaNumbers(component)) {
        started.push(await this.#startReplica(component, replica));
      }
    } catch (error) {
      await Promise.allSettled(started.map((handle) => handle.stop({ graceMs: 0 })));
      throw error;
    }
    return new ReplicaSetHandle(started);
  }

  /** Starts one container of the component (replica 0: the only one). */
  async #startReplica(component: Component, replica: number): Promise<ContainerHandle> {
    const network = this.#network;
    if (!network) throw new RangeError("prepare() must run before start()");
    const docker = this.#docker;
    const key = replicaKey(component.id, replica);
    try {
      let since: number | undefined;
      const id = await retryEngine(async () => {
        const reused = await this.#reusable(key);
        since = reused?.started ? Date.now() / 1000 : undefined;
        const id = reused?.id ?? await this.#create(component, replica);
        this.#containers.set(key, { id, started: true });
        await docker.startContainer(id);
        return id;
      });
      // The stream replays from the container's creation, so nothing printed before is lost; a
      // restarted container's stream starts at the restart (engine stamps, this host's clock).
      const logs = await retryEngine(() => docker.logs(id, since)).catch((error) => {
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

  /** A container of this run, if it is created but not started yet, or stopped. */
  async #reusable(key: string) {
    const known = this.#containers.get(key);
    if (!known?.started) return known;
    const inspect = await this.#docker.inspectContainer(known.id);
    return inspect && !inspect.State.Running ? known : undefined;
  }

  /** Creates a container of the component (not started); returns its id. */
  async #create(component: Component, replica: number): Promise<string> {
    const network = this.#network;
    const componentEnv = this.#envs.get(component.id);
    if (!network || !componentEnv) throw new RangeError("prepare() must run before start()");
    const env = replica > 0 ? { ...componentEnv, FLOWCTL_REPLICA: String(replica) } : componentEnv;
    const docker = this.#docker;
    const pipeline = this.#pipeline;
    const name = containerName(pipeline, component, replica);
    try {
      // A stopped container of ours from an earlier attempt holds the name: remove it first.
      const previous = await docker.containerByName(name);
      if (previous?.Labels?.[LABEL_PIPELINE] === pipeline.name) {
        await docker.removeContainer(previous.Id);
      }
      return await docker.createContainer(name, {
        ...containerConfig(component, env, network),
        // metadata.labels first: flowctl's own labels are how it finds what it made.
        Labels: {
          ...pipeline.labels,
          ...runLabels(pipeline.name, this.#options.runId),
          ...ownerLabels(),
          [LABEL_COMPONENT]: component.id,
          ...(replica > 0 ? { [LABEL_REPLICA]: String(replica) } : {}),
        },
      });
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

/** The engine's container configuration of a component, without labels. */
function containerConfig(
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
function commandConfig(component: Component): Record<string, string[]> {
  if (component.args.length === 0) return {};
  return component.command.length > 0
    ? { Entrypoint: component.command, Cmd: component.args }
    : { Cmd: component.args };
}

/** Volumes and secret files (read-only) as engine mounts; absent optional secrets are skipped. */
function mounts(component: Component): Record<string, unknown>[] {
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
function resourceConfig(component: Component): Record<string, number> {
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

/** A started container: its demultiplexed output, its exit from the engine, its stop. */
class ContainerHandle extends StoppableHandle implements ComponentHandle {
  readonly componentId: string;
  readonly containerId: string;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly exited: Promise<ExitStatus>;
  readonly #docker: DockerClient;
  readonly #component: Component;
  readonly address: string | undefined;

  constructor(
    docker: DockerClient,
    component: Component,
    id: string,
    address: string | undefined,
    streams: { stdout: ReadableStream<Uint8Array>; stderr: ReadableStream<Uint8Array> },
  ) {
    super();
    this.#docker = docker;
    this.#component = component;
    this.componentId = component.id;
    this.containerId = id;
    this.address = address;
    this.stdout = streams.stdout;
    this.stderr = streams.stderr;
    this.exited = this.#wait();
  }

  /**
   * Waits for the container to stop. When the engine goes away (restarted), waits for it to come
   * back for up to ENGINE_RETURN_MS, then asks how the container ended.
   */
  async #wait(): Promise<ExitStatus> {
    let unreachableSince: number | undefined;
    while (true) {
      try {
        const code = await this.#docker.waitContainer(this.containerId);
        return { code, signal: code === 137 ? "SIGKILL" : code === 143 ? "SIGTERM" : null };
      } catch (error) {
        if (!(error instanceof DockerUnavailableError) && !(error instanceof TypeError)) {
          logger.debug("Waiting for {container} failed: {error}", {
            container: this.containerId,
            error,
          });
        }
      }
      const inspect = await this.#docker.inspectContainer(this.containerId).then(
        (result) => ({ answered: true as const, result }),
        () => ({ answered: false as const }),
      );
      if (inspect.answered) {
        unreachableSince = undefined;
        if (!inspect.result) return { code: 137, signal: "SIGKILL" }; // removed behind our back
        if (!inspect.result.State.Running) {
          const code = inspect.result.State.ExitCode;
          return { code, signal: code === 137 ? "SIGKILL" : code === 143 ? "SIGTERM" : null };
        }
      } else {
        unreachableSince ??= Date.now();
        if (Date.now() - unreachableSince > ENGINE_RETURN_MS) {
          return { code: 137, signal: "SIGKILL" };
        }
      }
      await delay(250);
    }
  }

  probeAddress(port: number) {
    const published = this.#component.ports.find((p) =>
      p.containerPort === port && p.hostPort !== undefined
    );
    if (published?.hostPort !== undefined) {
      return {
        hostname: published.hostIp === "0.0.0.0" ? "127.0.0.1" : published.hostIp,
        port: published.hostPort,
      };
    }
    return {
      hostname: this.#component.networkMode === "host" ? "127.0.0.1" : this.address ?? "127.0.0.1",
      port,
    };
  }

  protected async stopOnce({ graceMs, force }: StopOptions): Promise<ExitStatus> {
    const docker = this.#docker;
    if (graceMs <= 0 || force?.aborted) {
      await docker.killContainer(this.containerId).catch(() => {});
    } else {
      const onForce = () => docker.killContainer(this.containerId).catch(() => {});
      force?.addEventListener("abort", onForce, { once: true });
      try {
        await docker.stopContainer(this.containerId, Math.ceil(graceMs / 1000));
      } catch (error) {
        logger.debug("Stopping {container} failed: {error}", {
          container: this.containerId,
          error,
        });
        await docker.killContainer(this.containerId).catch(() => {});
      } finally {
        force?.removeEventListener("abort", onForce);
      }
    }
    const exit = await this.exited;
    await docker.removeContainer(this.containerId).catch(() => {});
    return exit;
  }
}

/**
 * Runs `operation`, retrying while the engine is away (restarting: up to ENGINE_RETURN_MS) or
 * answers with a server error (5xx: for a few seconds, as a restarted engine answers before its
 * network store is ready).
 */
async function retryEngine<T>(operation: (attempt: number) => Promise<T>): Promise<T> {
  const started = Date.now();
  for (let attempt = 0;; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const cause = error instanceof ComponentFailedError ? error.cause : error;
      const away = cause instanceof DockerUnavailableError &&
        Date.now() - started < ENGINE_RETURN_MS;
      const serverError = cause instanceof DockerApiError && cause.status >= 500 &&
        Date.now() - started < 15_000;
      if (!away && !serverError) throw error;
      logger.debug("Engine not ready, retrying: {error}", { error });
      await delay(Math.min(250 * 2 ** attempt, 2_000));
    }
  }
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

function containerNames(pipeline: Pipeline, component: Component): string[] {
  return replicaNumbers(component).map((replica) => containerName(pipeline, component, replica));
}

/** Replica numbers of a component: [0] for a single container, 1..N for several. */
function replicaNumbers(component: Component): number[] {
  return component.replicas === 1
    ? [0]
    : Array.from({ length: component.replicas }, (_, i) => i + 1);
}

function replicaKey(componentId: string, replica: number): string {
  return `${componentId}#${replica}`;
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() });
}
