/**
 * The container orchestrator: one bridge network per run, one container per component (named
 * `<pipeline>-<id>`, aliased by its id; with `replicas: N`, N containers `<pipeline>-<id>-1..N`
 * sharing the alias), driven through the Docker Engine API.
 */
import type { Component, Pipeline } from "../../config/mod.ts";
import { DockerClient } from "../../docker/docker_client.ts";
import { checkPullable, imageExists } from "../../docker/image_api.ts";
import { DockerApiError, DockerUnavailableError } from "../../docker/docker_errors.ts";
import { LABEL_PIPELINE } from "../../docker/labels.ts";
import { asPreflightError, prepareRun } from "../_engine_run.ts";
import { missingPaths } from "../host_paths.ts";
import { busyHostPorts } from "../host_ports.ts";
import {
  type CheckOptions,
  type OpenOptions,
  type Orchestrator,
  type OrchestratorRun,
  PreflightError,
} from "../orchestrator.ts";
import { ContainerRun } from "./container_run.ts";
import { containerNames } from "./container_spec.ts";

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
    if (component.pullPolicy === "always" || await imageExists(this.docker, image)) return problems;
    if (component.pullPolicy === "never") {
      problems.push(
        `component "${component.id}": image "${image}" is not present locally and pull_policy is "never"`,
      );
      return problems;
    }
    try {
      await checkPullable(this.docker, image, signal);
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
