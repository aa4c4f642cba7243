/**
 * The swarm orchestrator: one attachable overlay network per run and one Swarm service per
 * component (named `<pipeline>-<id>`, reachable by its id), driven through the Engine API of a
 * swarm manager. Swarm restarts tasks by the component's policy; each task is one ComponentHandle.
 */
import type { Pipeline } from "../../config/mod.ts";
import { DockerClient } from "../../docker/docker_client.ts";
import { DockerUnavailableError } from "../../docker/docker_errors.ts";
import { LABEL_PIPELINE } from "../../docker/labels.ts";
import { serviceByName, swarmInfo } from "../../docker/swarm_api.ts";
import { asPreflightError, prepareRun } from "../_engine_run.ts";
import {
  type OpenOptions,
  type Orchestrator,
  type OrchestratorRun,
  PreflightError,
} from "../orchestrator.ts";
import { SwarmRun } from "./swarm_run.ts";
import { serviceName } from "./swarm_service.ts";

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
      // The user must point flowctl elsewhere (or init the swarm): a usage error.
      if (problem) throw new PreflightError([problem], { exitCode: 2 });
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
    }"): run "docker swarm init" on it first, or point DOCKER_HOST (or the Docker context) at a swarm manager`;
  }
  if (!info.Swarm.ControlAvailable) {
    return `the Docker engine at ${docker.host} is a swarm worker, not a manager: run flowctl against a manager (DOCKER_HOST or the Docker context), or promote this node with "docker node promote"`;
  }
  return undefined;
}
