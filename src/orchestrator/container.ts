/**
 * The container orchestrator: one bridge network per run, one container per component (named
 * `<pipeline>-<id>`, aliased by its id), driven through the Docker Engine API.
 */
import { getLogger } from "@logtape/logtape";
import type { Component, Pipeline } from "../config/mod.ts";
import { delay } from "../delay.ts";
import { DockerClient } from "../docker/docker_client.ts";
import { DockerApiError, DockerUnavailableError } from "../docker/docker_errors.ts";
import { demuxFrames } from "../docker/frame_demux.ts";
import {
  ComponentFailedError,
  type ComponentHandle,
  type ExitStatus,
  type Orchestrator,
  PreflightError,
  type StartOptions,
} from "./orchestrator.ts";
import { isPortFree } from "./process.ts";
import { isOwnerAlive, ownerFromLabels, ownerLabels, type RunOwner } from "../state/run_lock.ts";

const logger = getLogger(["flowctl", "docker"]);

export const LABEL_PIPELINE = "dev.flowctl.pipeline";
export const LABEL_COMPONENT = "dev.flowctl.component";
export const LABEL_RUN = "dev.flowctl.run-id";

/** How long flowctl waits for an engine that went away (restarted) before giving up on it. */
const ENGINE_RETURN_MS = 60_000;

export interface ContainerOrchestratorOptions {
  runId: string;
  /** Told about leftovers removed and images pulled. */
  onNotice?: (message: string) => void;
  /** Progress lines of an image pull (shown on a terminal). */
  onPullProgress?: (component: string, line: string) => void;
}

export class ContainerOrchestrator implements Orchestrator {
  readonly kind = "container" as const;
  readonly controlPlaneHost = "host.docker.internal";
  readonly #docker: DockerClient;
  readonly #options: ContainerOrchestratorOptions;
  readonly #handles = new Set<ContainerHandle>();
  /**
   * Each component's container in this run and the environment it was made with. A restart
   * starts the same container again instead of removing it and creating another: a removal
   * racing an engine that is shutting down can leave a container the engine can no longer delete.
   */
  readonly #containers = new Map<string, { id: string; env: string; started: boolean }>();
  #pipeline: Pipeline | undefined;
  #network: { id: string; name: string; gateway: string } | undefined;

  private constructor(docker: DockerClient, options: ContainerOrchestratorOptions) {
    this.#docker = docker;
    this.#options = options;
  }

  /** Connects to the engine. @throws {PreflightError} when it does not answer. */
  static async create(options: ContainerOrchestratorOptions): Promise<ContainerOrchestrator> {
    try {
      return new ContainerOrchestrator(await DockerClient.connect(), options);
    } catch (error) {
      if (error instanceof DockerUnavailableError) {
        throw new PreflightError([error.message], { cause: error });
      }
      throw error;
    }
  }

  get networkId(): string | undefined {
    return this.#network?.id;
  }

  controlPlaneListenHosts(): string[] {
    return this.#network ? ["127.0.0.1", this.#network.gateway] : ["127.0.0.1"];
  }

  /**
   * Removes leftovers of earlier runs of this pipeline, checks names, images and host ports,
   * pulls missing images, then creates the run's network.
   */
  async preflight(pipeline: Pipeline): Promise<void> {
    this.#pipeline = pipeline;
    const docker = this.#docker;
    const problems: string[] = [];
    try {
      const removed = await removePipelineObjects(docker, pipeline.name);
      if (removed.liveOwner) {
        throw new PreflightError([
          `"${pipeline.name}" is already running: its containers belong to flowctl pid ${removed.liveOwner.pid}, which is alive; stop it first`,
        ]);
      }
      if (removed.containers + removed.networks > 0) {
        this.#options.onNotice?.(
          `Removed ${removed.containers} container(s) and ${removed.networks} network(s) left by an earlier run of ${pipeline.name}`,
        );
      }
      for (const component of pipeline.components) {
        const name = containerName(pipeline, component);
        const existing = await docker.containerByName(name);
        if (existing) {
          problems.push(
            `component "${component.id}": a container named "${name}" already exists and was not created by flowctl; remove or rename it`,
          );
        }
        const image = component.image ?? "";
        const present = await docker.imageExists(image);
        if (component.pullPolicy === "always" || !present) {
          if (component.pullPolicy === "never") {
            problems.push(
              `component "${component.id}": image "${image}" is not present locally and pull_policy is "never"`,
            );
            continue;
          }
          try {
            this.#options.onNotice?.(`Pulling image ${image} for ${component.id}`);
            await docker.pullImage(image, (line) => {
              logger.debug("{component}: {line}", { component: component.id, line });
              this.#options.onPullProgress?.(component.id, line);
            });
          } catch (error) {
            if (!(error instanceof DockerApiError)) throw error;
            if (present) continue; // "always" with a local copy: keep going with it
            problems.push(
              `component "${component.id}": image "${image}" not found locally and pull failed: ${error.engineMessage}`,
            );
          }
        }
        for (const port of component.ports) {
          if (port.hostPort === undefined || component.networkMode === "host") continue;
          if (
            !(await isPortFree(port.hostIp === "0.0.0.0" ? "0.0.0.0" : port.hostIp, port.hostPort))
          ) {
            problems.push(
              `component "${component.id}": port ${port.hostPort} on ${port.hostIp} is already in use`,
            );
          }
        }
      }
      if (problems.length > 0) throw new PreflightError(problems);
      const name = `flowctl-${pipeline.name}-${this.#options.runId.slice(0, 8)}`;
      const id = await retryEngine(() =>
        docker.createNetwork(name, labels(pipeline, this.#options.runId))
      );
      const info = await docker.inspectNetwork(id);
      const gateway = info.IPAM?.Config?.find((c) => c.Gateway)?.Gateway;
      if (!gateway) throw new PreflightError([`network "${name}" has no gateway address`]);
      this.#network = { id, name, gateway };
    } catch (error) {
      if (error instanceof DockerApiError || error instanceof DockerUnavailableError) {
        throw new PreflightError([error.message], { cause: error });
      }
      throw error;
    }
  }

  async prepare(plan: readonly { component: Component; options: StartOptions }[]): Promise<void> {
    await Promise.all(plan.map(async ({ component, options }) => {
      const id = await this.#create(component, options);
      this.#containers.set(component.id, { id, env: JSON.stringify(options.env), started: false });
    }));
  }

  async start(component: Component, options: StartOptions): Promise<ComponentHandle> {
    const network = this.#network;
    if (!network) throw new RangeError("preflight() must run before start()");
    const docker = this.#docker;
    try {
      const env = JSON.stringify(options.env);
      let since: number | undefined;
      const id = await retryEngine(async () => {
        const reused = await this.#reusable(component.id, env);
        since = reused?.started ? Date.now() / 1000 : undefined;
        const id = reused?.id ?? await this.#create(component, options);
        this.#containers.set(component.id, { id, env, started: true });
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
      const address = inspect?.NetworkSettings.Networks?.[network.name]?.IPAddress ?? "127.0.0.1";
      const handle = new ContainerHandle(docker, component, id, address, streams);
      this.#handles.add(handle);
      handle.exited.finally(() => this.#handles.delete(handle));
      return handle;
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
   * The component's container of this run if it has the same env and is created but not started
   * yet (by prepare()), or ran and stopped.
   */
  async #reusable(componentId: string, env: string) {
    const known = this.#containers.get(componentId);
    if (!known || known.env !== env) return undefined;
    if (!known.started) return known;
    const inspect = await this.#docker.inspectContainer(known.id);
    return inspect && !inspect.State.Running ? known : undefined;
  }

  /** Creates the component's container (not started); returns its id. */
  async #create(component: Component, options: StartOptions): Promise<string> {
    const pipeline = this.#pipeline;
    const network = this.#network;
    if (!pipeline || !network) throw new RangeError("preflight() must run before start()");
    const docker = this.#docker;
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
    const name = containerName(pipeline, component);
    try {
      // A stopped container of ours from an earlier attempt holds the name: remove it first.
      const previous = await docker.containerByName(name);
      if (previous?.Labels?.[LABEL_PIPELINE] === pipeline.name) {
        await docker.removeContainer(previous.Id);
      }
      return await docker.createContainer(name, {
        Image: component.image,
        Env: Object.entries(options.env).map(([key, value]) => `${key}=${value}`),
        Labels: { ...labels(pipeline, this.#options.runId), [LABEL_COMPONENT]: component.id },
        ExposedPorts: exposed,
        HostConfig: {
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
    await Promise.allSettled([...this.#handles].map((handle) => handle.stop({ graceMs: 0 })));
    const deadline = Date.now() + ENGINE_RETURN_MS;
    let told = false;
    try {
      while (true) {
        try {
          if (this.#pipeline) {
            // Everything of this run, even what a failed start left half-made.
            for (
              const container of await this.#docker.listContainers(LABEL_RUN, this.#options.runId)
            ) {
              await this.#docker.removeContainer(container.Id);
            }
          }
          const network = this.#network;
          if (network) await retryEngine(() => this.#docker.removeNetwork(network.id));
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
    } finally {
      this.#docker[Symbol.dispose]();
    }
  }
}

class ContainerHandle implements ComponentHandle {
  readonly componentId: string;
  readonly containerId: string;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly exited: Promise<ExitStatus>;
  readonly #docker: DockerClient;
  readonly #component: Component;
  readonly #address: string;
  #stopping: Promise<ExitStatus> | undefined;

  constructor(
    docker: DockerClient,
    component: Component,
    id: string,
    address: string,
    streams: { stdout: ReadableStream<Uint8Array>; stderr: ReadableStream<Uint8Array> },
  ) {
    this.#docker = docker;
    this.#component = component;
    this.componentId = component.id;
    this.containerId = id;
    this.#address = address;
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
    return { hostname: this.#component.networkMode === "host" ? "127.0.0.1" : this.#address, port };
  }

  stop(options: { graceMs: number; force?: AbortSignal }): Promise<ExitStatus> {
    this.#stopping ??= this.#stop(options);
    return this.#stopping;
  }

  async #stop({ graceMs, force }: { graceMs: number; force?: AbortSignal }): Promise<ExitStatus> {
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

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop({ graceMs: 0 });
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
 * Removes every container and network labelled with `pipeline`, unless a flowctl that is alive
 * owns any of them (another run, maybe from another state folder): then it removes nothing and
 * names that owner. Objects without owner labels (made by an older flowctl) count as leftovers.
 */
export async function removePipelineObjects(
  docker: DockerClient,
  pipeline: string,
): Promise<{ containers: number; networks: number; liveOwner?: RunOwner }> {
  const containers = await docker.listContainers(LABEL_PIPELINE, pipeline);
  const networks = await docker.listNetworks(LABEL_PIPELINE, pipeline);
  for (const object of [...containers, ...networks]) {
    const owner = ownerFromLabels(object.Labels);
    if (owner && isOwnerAlive(owner)) return { containers: 0, networks: 0, liveOwner: owner };
  }
  for (const container of containers) await docker.removeContainer(container.Id);
  for (const network of networks) await docker.removeNetwork(network.Id);
  return { containers: containers.length, networks: networks.length };
}

export function containerName(pipeline: Pipeline, component: Component): string {
  return `${pipeline.name}-${component.id}`;
}

function labels(pipeline: Pipeline, runId: string): Record<string, string> {
  return { [LABEL_PIPELINE]: pipeline.name, [LABEL_RUN]: runId, ...ownerLabels() };
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() });
}
