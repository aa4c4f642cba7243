/**
 * Docker Engine API client over its unix socket (or tcp), with `fetch` and
 * `Deno.createHttpClient`. Engine JSON is parsed through valibot schemas; every response body
 * is consumed or cancelled.
 */
import { getLogger } from "@logtape/logtape";
import * as v from "valibot";
import { delay } from "../delay.ts";
import { DockerApiError, DockerUnavailableError } from "./docker_errors.ts";

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
  /** `unix:///var/run/docker.sock` or `tcp://host:port`, for messages. */
  readonly host: string;
  readonly apiVersion: string;
  readonly #client: Deno.HttpClient | undefined;
  readonly #base: string;

  private constructor(
    host: string,
    client: Deno.HttpClient | undefined,
    base: string,
    apiVersion: string,
  ) {
    this.host = host;
    this.#client = client;
    this.#base = base;
    this.apiVersion = apiVersion;
  }

  /**
   * Connects to the engine at `DOCKER_HOST` (default `unix:///var/run/docker.sock`) and
   * negotiates the API version.
   * @throws {DockerUnavailableError} when nothing answers or the engine is too old.
   */
  static async connect(
    dockerHost = Deno.env.get("DOCKER_HOST") || "unix:///var/run/docker.sock",
  ): Promise<DockerClient> {
    let client: Deno.HttpClient | undefined;
    let base: string;
    if (dockerHost.startsWith("unix://")) {
      client = Deno.createHttpClient({
        proxy: { transport: "unix", path: dockerHost.slice("unix://".length) },
      });
      base = "http://docker";
    } else if (dockerHost.startsWith("tcp://") || dockerHost.startsWith("http://")) {
      base = `http://${dockerHost.replace(/^(tcp|http):\/\//, "")}`;
    } else {
      throw new DockerUnavailableError(dockerHost, "DOCKER_HOST must start with unix:// or tcp://");
    }
    let version: string;
    try {
      const response = await fetch(
        `${base}/_ping`,
        { client, signal: AbortSignal.timeout(5_000) } as RequestInit,
      );
      await response.body?.cancel();
      if (!response.ok) throw new Error(`_ping answered ${response.status}`);
      version = response.headers.get("api-version") ?? MIN_API_VERSION;
    } catch (error) {
      client?.close();
      const reason = error instanceof Error ? error.message.split("\n")[0] ?? "" : String(error);
      throw new DockerUnavailableError(dockerHost, reason, { cause: error });
    }
    if (compareVersions(version, MIN_API_VERSION) < 0) {
      client?.close();
      throw new DockerUnavailableError(
        dockerHost,
        `the engine speaks API ${version}; flowctl needs ${MIN_API_VERSION} or newer`,
      );
    }
    const apiVersion = compareVersions(version, MAX_API_VERSION) > 0 ? MAX_API_VERSION : version;
    logger.debug("Docker engine at {host} speaks API {version}; using {apiVersion}", {
      host: dockerHost,
      version,
      apiVersion,
    });
    return new DockerClient(dockerHost, client, base, apiVersion);
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
        response = await fetch(`${this.#base}/v${this.apiVersion}${path}${query}`, {
          method,
          headers,
          ...(body !== undefined ? { body } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
          client: this.#client,
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

  /** Removes a container with its anonymous volumes; one that is gone is fine. */
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
    this.#client?.close();
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
