/**
 * Docker Engine API client over the transport the docker CLI would use (unix socket, tcp with
 * TLS, ssh), with `fetch` and `Deno.createHttpClient`. Engine JSON is parsed through valibot schemas; every response body
 * is consumed or cancelled.
 */
import { getLogger } from "@logtape/logtape";
import * as v from "valibot";
import { delay } from "../delay.ts";
import { DockerApiError, DockerUnavailableError } from "./docker_errors.ts";
import { endpointOf, type EngineEndpoint, resolveEngineEndpoint } from "./engine_endpoint.ts";
import { type EngineTransport, openTransport, pingEngine } from "./engine_transport.ts";

const logger = getLogger(["flowctl", "docker"]);

/** The oldest engine API flowctl works with, and the newest it asks for. */
export const MIN_API_VERSION = "1.41";
const MAX_API_VERSION = "1.45";

const IdSchema = v.looseObject({ Id: v.string() });
const ErrorSchema = v.looseObject({ message: v.string() });
const WaitSchema = v.looseObject({ StatusCode: v.number() });
export const ContainerInspectSchema = v.looseObject({
  Id: v.string(),
  Name: v.string(),
  State: v.looseObject({ Running: v.boolean(), Status: v.string(), ExitCode: v.number() }),
  Config: v.looseObject({ Labels: v.nullish(v.record(v.string(), v.string())) }),
  NetworkSettings: v.looseObject({
    Networks: v.nullish(v.record(v.string(), v.looseObject({ IPAddress: v.string() }))),
  }),
});
const ContainerListSchema = v.array(v.looseObject({
  Id: v.string(),
  Names: v.array(v.string()),
  State: v.string(),
  Labels: v.nullish(v.record(v.string(), v.string())),
}));
const NetworkSchema = v.looseObject({
  Id: v.string(),
  Name: v.string(),
  Labels: v.nullish(v.record(v.string(), v.string())),
  IPAM: v.optional(v.looseObject({
    Config: v.nullish(
      v.array(v.looseObject({ Gateway: v.optional(v.string()), Subnet: v.optional(v.string()) })),
    ),
  })),
});

export type ContainerInspect = v.InferOutput<typeof ContainerInspectSchema>;
export type ContainerSummary = v.InferOutput<typeof ContainerListSchema>[number];
export type NetworkInfo = v.InferOutput<typeof NetworkSchema>;

export interface RequestOptions {
  query?: Record<string, string | number | boolean>;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Statuses that are success here besides 2xx (304 on start/stop, 404 on removal). */
  accept?: number[];
}

/**
 * The Docker Engine API over its unix socket (or tcp), with the API version negotiated on
 * connect, engine errors as DockerApiError and an unreachable engine as DockerUnavailableError.
 */
export class DockerClient implements Disposable {
  /** `unix:///var/run/docker.sock`, `tcp://host:port` or `ssh://user@host`, for messages. */
  readonly host: string;
  /** Where the address came from (`DOCKER_HOST`, `Docker context "x"`), for messages. */
  readonly source: string;
  /** How the engine is reached (socket, tcp with or without TLS, ssh). */
  readonly endpoint: EngineEndpoint;
  readonly apiVersion: string;
  readonly #transport: EngineTransport;

  private constructor(transport: EngineTransport, apiVersion: string) {
    this.host = transport.endpoint.host;
    this.source = transport.endpoint.source;
    this.endpoint = transport.endpoint;
    this.#transport = transport;
    this.apiVersion = apiVersion;
  }

  /**
   * Connects to the engine the docker CLI would use (`DOCKER_HOST` with `DOCKER_TLS_VERIFY` and
   * `DOCKER_CERT_PATH`, else the current Docker context, else `unix:///var/run/docker.sock`), or
   * to the one given, and negotiates the API version.
   * @throws {DockerUnavailableError} when nothing answers or the engine is too old.
   * @throws {EngineSetupError} when the address, context, certificates or ssh login are wrong.
   */
  static async connect(target?: string | EngineEndpoint): Promise<DockerClient> {
    const endpoint = typeof target === "string"
      ? endpointOf(target)
      : target ?? await resolveEngineEndpoint();
    const transport = await openTransport(endpoint);
    let version: string;
    try {
      version = (await pingEngine(transport)) || MIN_API_VERSION;
      if (compareVersions(version, MIN_API_VERSION) < 0) {
        throw new DockerUnavailableError(
          endpoint.host,
          `the engine speaks API ${version}; flowctl needs ${MIN_API_VERSION} or newer`,
        );
      }
    } catch (error) {
      transport[Symbol.dispose]();
      throw error;
    }
    const apiVersion = compareVersions(version, MAX_API_VERSION) > 0 ? MAX_API_VERSION : version;
    logger.debug("Docker engine at {host} ({source}) speaks API {version}; using {apiVersion}", {
      host: endpoint.host,
      source: endpoint.source,
      version,
      apiVersion,
    });
    return new DockerClient(transport, apiVersion);
  }

  /** Sends a request; throws DockerApiError for statuses not accepted. The caller consumes the body. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const query = options.query
      ? "?" +
        new URLSearchParams(Object.entries(options.query).map(([k, val]) => [k, String(val)]))
          .toString()
      : "";
    const headers: Record<string, string> = { ...options.headers };
    let body = options.body;
    if (options.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.json);
    }
    let response: Response | undefined;
    // A pooled connection to an engine that restarted fails once; a fresh one may not.
    for (let attempt = 0; !response; attempt++) {
      try {
        response = await fetch(`${this.#transport.base}/v${this.apiVersion}${path}${query}`, {
          method,
          headers,
          ...(body !== undefined ? { body } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
          client: this.#transport.client,
        } as RequestInit);
      } catch (error) {
        if (options.signal?.aborted) throw error;
        if (attempt >= 2) {
          const reason = (error as Error).message.split("\n")[0] ?? "";
          throw new DockerUnavailableError(this.host, reason, { cause: error });
        }
        await delay(100 * (attempt + 1));
      }
    }
    if (response.ok || options.accept?.includes(response.status)) return response;
    const text = await response.text();
    let message = text.trim();
    try {
      message = v.parse(ErrorSchema, JSON.parse(text)).message;
    } catch {
      // not JSON: keep the text
    }
    throw new DockerApiError(response.status, method, path, message);
  }

  /** Sends a request and parses its JSON answer with `schema`. */
  async json<T extends v.GenericSchema>(
    schema: T,
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<v.InferOutput<T>> {
    const response = await this.request(method, path, options);
    const data: unknown = await response.json();
    const parsed = v.safeParse(schema, data);
    if (!parsed.success) {
      throw new DockerApiError(
        response.status,
        method,
        path,
        `unexpected answer: ${v.summarize(parsed.issues)}`,
      );
    }
    return parsed.output;
  }

  /** Sends a request whose answer does not matter; the body is drained. */
  async call(method: string, path: string, options: RequestOptions = {}): Promise<number> {
    const response = await this.request(method, path, options);
    await response.body?.cancel();
    return response.status;
  }

  // Containers

  async createContainer(name: string, config: Record<string, unknown>): Promise<string> {
    return (await this.json(IdSchema, "POST", "/containers/create", {
      query: { name },
      json: config,
    })).Id;
  }

  async startContainer(id: string): Promise<void> {
    await this.call("POST", `/containers/${id}/start`, { accept: [304] });
  }

  /** Stops with the engine's SIGTERM → `seconds` → SIGKILL. */
  async stopContainer(id: string, seconds: number, signal?: AbortSignal): Promise<void> {
    await this.call("POST", `/containers/${id}/stop`, {
      query: { t: seconds },
      accept: [304, 404],
      ...(signal ? { signal } : {}),
    });
  }

  async killContainer(id: string): Promise<void> {
    await this.call("POST", `/containers/${id}/kill`, { accept: [404, 409] });
  }

  /** Removes a container with its anonymous volumes; gone already, or going, is done. */
  async removeContainer(id: string): Promise<void> {
    try {
      await this.call("DELETE", `/containers/${id}`, {
        query: { v: true, force: true },
        accept: [404],
      });
      return;
    } catch (error) {
      const inProgress = error instanceof DockerApiError && error.status === 409 &&
        /in progress/i.test(error.engineMessage);
      if (!inProgress) throw error;
    }
    // Another caller is removing it: done once it is gone.
    const deadline = Date.now() + 30_000;
    while (await this.inspectContainer(id) && Date.now() < deadline) await delay(50);
  }

  async inspectContainer(id: string): Promise<ContainerInspect | undefined> {
    const response = await this.request("GET", `/containers/${id}/json`, { accept: [404] });
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    return v.parse(ContainerInspectSchema, await response.json());
  }

  /** Waits for the container to stop and returns its exit code. */
  async waitContainer(id: string, signal?: AbortSignal): Promise<number> {
    return (await this.json(WaitSchema, "POST", `/containers/${id}/wait`, {
      query: { condition: "not-running" },
      ...(signal ? { signal } : {}),
    })).StatusCode;
  }

  /** Containers (running or not) carrying `label=value`. */
  async listContainers(label: string, value: string): Promise<ContainerSummary[]> {
    return await this.json(ContainerListSchema, "GET", "/containers/json", {
      query: { all: true, filters: JSON.stringify({ label: [`${label}=${value}`] }) },
    });
  }

  async containerByName(name: string): Promise<ContainerSummary | undefined> {
    const list = await this.json(ContainerListSchema, "GET", "/containers/json", {
      // The engine matches names as a regular expression: "." in an id must match only ".".
      query: { all: true, filters: JSON.stringify({ name: [`^/${escapeRegExp(name)}$`] }) },
    });
    return list[0];
  }

  /**
   * The container's output from its creation (or from `since`, in Unix seconds), following;
   * frames still multiplexed.
   */
  async logs(
    id: string,
    since?: number,
    signal?: AbortSignal,
  ): Promise<ReadableStream<Uint8Array>> {
    const response = await this.request("GET", `/containers/${id}/logs`, {
      query: {
        follow: true,
        stdout: true,
        stderr: true,
        ...(since === undefined ? {} : { since: since.toFixed(6) }),
      },
      ...(signal ? { signal } : {}),
    });
    return response.body ?? new ReadableStream({ start: (c) => c.close() });
  }

  // Networks

  async createNetwork(
    name: string,
    labels: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<string> {
    return (await this.json(IdSchema, "POST", "/networks/create", {
      json: { Name: name, Driver: "bridge", CheckDuplicate: true, Labels: labels },
      ...(signal ? { signal } : {}),
    })).Id;
  }

  async inspectNetwork(id: string): Promise<NetworkInfo> {
    return await this.json(NetworkSchema, "GET", `/networks/${id}`);
  }

  async removeNetwork(id: string): Promise<void> {
    await this.call("DELETE", `/networks/${id}`, { accept: [404] });
  }

  async listNetworks(label: string, value: string): Promise<NetworkInfo[]> {
    return await this.json(v.array(NetworkSchema), "GET", "/networks", {
      query: { filters: JSON.stringify({ label: [`${label}=${value}`] }) },
    });
  }

  [Symbol.dispose](): void {
    this.#transport[Symbol.dispose]();
  }
}

function compareVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split(".").map(Number);
  const [bMajor = 0, bMinor = 0] = b.split(".").map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
