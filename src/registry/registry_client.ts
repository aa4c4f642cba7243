/**
 * A client of one repository on a registry, over the Distribution API with plain fetch:
 * manifests and blobs, with anonymous bearer tokens (as Docker Hub hands them out) and basic-auth
 * credentials from `~/.docker/config.json`. The registry is not trusted (see SECURITY.md and
 * registry_http.ts): its token realm must be http(s), saved credentials go only to the registry's
 * own origin (and Docker Hub's token service), and every body read into memory has a limit.
 */
import * as v from "valibot";
import { type Credentials, dockerCredentials } from "./docker_credentials.ts";
import { MANIFEST_ACCEPT } from "./manifest.ts";
import { formatReference, type ImageReference, registryBaseUrl } from "./reference.ts";
import { RegistryError } from "./registry_error.ts";
import {
  DEFAULT_TIMEOUTS,
  readAtMost,
  readTextPrefix,
  registryFetch,
  type RegistryTimeouts,
  webUrl,
} from "./registry_http.ts";
import { safeJson } from "../safe_json.ts";

/** Manifests are small JSON documents; registries themselves refuse more than 4 MiB. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Tokens are a few KiB; Docker Hub's are under 2 KiB. */
const MAX_TOKEN_BYTES = 64 * 1024;
/** What of an error body is read: enough for a registry's JSON errors. */
const MAX_ERROR_BYTES = 16 * 1024;

/** Token services that belong to a registry on another origin. */
const TOKEN_SERVICES: Record<string, string> = {
  "https://auth.docker.io": "https://registry-1.docker.io",
};

const TokenSchema = v.object({
  token: v.optional(v.string()),
  access_token: v.optional(v.string()),
});

const ErrorsSchema = v.object({
  errors: v.array(v.object({ code: v.optional(v.string()), message: v.optional(v.string()) })),
});

/** A manifest as fetched: its bytes (to verify the digest) and content type. */
export interface FetchedManifest {
  bytes: Uint8Array;
  contentType: string;
  /** Docker-Content-Digest, when the registry sent one. */
  digest: string | undefined;
}

export interface RegistryClientOptions {
  timeouts?: RegistryTimeouts;
}

export class RegistryClient {
  readonly #ref: ImageReference;
  readonly #origin: string;
  readonly #base: string;
  readonly #shown: string;
  readonly #timeouts: RegistryTimeouts;
  #authorization: string | undefined;
  #credentials: Promise<Credentials | undefined> | undefined;

  constructor(ref: ImageReference, options: RegistryClientOptions = {}) {
    this.#ref = ref;
    this.#origin = new URL(registryBaseUrl(ref.registry)).origin;
    this.#base = `${registryBaseUrl(ref.registry)}/v2/${ref.repository}`;
    this.#shown = formatReference(ref);
    this.#timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  }

  /**
   * The manifest (or index) of `version`, a tag or a digest.
   * @throws {RegistryError} when the registry refuses or cannot be reached.
   */
  async manifest(version: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const response = await this.#get(`/manifests/${version}`, { Accept: MANIFEST_ACCEPT }, signal);
    const bytes = await readAtMost(response, MAX_MANIFEST_BYTES);
    if (!bytes) {
      throw new RegistryError(
        this.#shown,
        `manifest "${version}" is larger than ${MAX_MANIFEST_BYTES} bytes, the most flowctl reads`,
      );
    }
    return {
      bytes,
      contentType: response.headers.get("content-type") ?? "",
      digest: response.headers.get("docker-content-digest") ?? undefined,
    };
  }

  /**
   * A blob's bytes as a stream; the caller consumes or cancels it.
   * @throws {RegistryError} when the registry refuses or cannot be reached.
   */
  async blob(
    digest: string,
    signal?: AbortSignal,
  ): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    const response = await this.#get(`/blobs/${digest}`, {}, signal);
    if (!response.body) throw new RegistryError(this.#shown, `blob "${digest}" has no body`);
    return response.body;
  }

  /** GET with authentication: on 401, follows the challenge once (token or basic) and retries. */
  async #get(
    path: string,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    let response = await this.#fetch(path, headers, signal);
    if (response.status === 401) {
      const challenge = response.headers.get("www-authenticate") ?? "";
      await response.body?.cancel();
      this.#authorization = await this.#authorize(challenge, signal);
      response = await this.#fetch(path, headers, signal);
    }
    if (response.ok) return response;
    throw new RegistryError(this.#shown, await this.#describeFailure(path, response));
  }

  #fetch(
    path: string,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    return registryFetch(new URL(`${this.#base}${path}`), {
      reference: this.#shown,
      headers,
      authorization: this.#authorization,
      authorizationOrigin: this.#origin,
      timeouts: this.#timeouts,
      signal,
      what: `registry "${this.#ref.registry}" (${this.#origin})`,
    });
  }

  /** The Authorization header answering a WWW-Authenticate challenge. */
  async #authorize(challenge: string, signal: AbortSignal | undefined): Promise<string> {
    const scheme = challenge.split(" ")[0]?.toLowerCase() ?? "";
    const params = Object.fromEntries(
      [...challenge.matchAll(/([A-Za-z_]+)="([^"]*)"/g)].map((m) => [m[1] ?? "", m[2] ?? ""]),
    );
    const credentials = await this.#loadCredentials();
    const basic = credentials
      ? `Basic ${btoa(`${credentials.username}:${credentials.password}`)}`
      : undefined;
    if (scheme === "basic") {
      if (basic) return basic;
      throw new RegistryError(
        this.#shown,
        `registry "${this.#ref.registry}" needs a user name and password, and ~/.docker/config.json has none for it (docker login ${this.#ref.registry})`,
      );
    }
    if (scheme !== "bearer" || !params.realm) {
      throw new RegistryError(
        this.#shown,
        `registry "${this.#ref.registry}" asks for an unsupported authentication: "${challenge}"`,
      );
    }
    const url = webUrl(params.realm, this.#shown, "the token realm");
    if (params.service) url.searchParams.set("service", params.service);
    url.searchParams.set("scope", params.scope ?? `repository:${this.#ref.repository}:pull`);
    // Saved credentials belong to the registry's origin: a realm elsewhere gets none.
    const belongs = url.origin === this.#origin || TOKEN_SERVICES[url.origin] === this.#origin;
    const what = `the token service "${url.origin}"`;
    const response = await registryFetch(url, {
      reference: this.#shown,
      authorization: belongs ? basic : undefined,
      authorizationOrigin: url.origin,
      timeouts: this.#timeouts,
      signal,
      what,
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new RegistryError(
        this.#shown,
        `${what} refused (HTTP ${response.status})${
          basic && belongs ? " with the credentials of ~/.docker/config.json" : ""
        }`,
      );
    }
    const bytes = await readAtMost(response, MAX_TOKEN_BYTES);
    if (!bytes) {
      throw new RegistryError(
        this.#shown,
        `${what} sent an answer larger than ${MAX_TOKEN_BYTES} bytes, the most flowctl reads`,
      );
    }
    const parsed = v.safeParse(TokenSchema, safeJson(new TextDecoder().decode(bytes)));
    const token = parsed.success ? parsed.output.token ?? parsed.output.access_token : undefined;
    if (!token) throw new RegistryError(this.#shown, `${what} sent no token`);
    return `Bearer ${token}`;
  }

  #loadCredentials(): Promise<Credentials | undefined> {
    this.#credentials ??= dockerCredentials(this.#ref.registry);
    return this.#credentials;
  }

  async #describeFailure(path: string, response: Response): Promise<string> {
    const text = await readTextPrefix(response, MAX_ERROR_BYTES);
    const parsed = v.safeParse(ErrorsSchema, safeJson(text));
    const said = parsed.success
      ? parsed.output.errors.map((e) => e.message ?? e.code ?? "").filter(Boolean).join("; ")
      : "";
    const what = path.startsWith("/manifests/")
      ? "not found in the registry"
      : `blob "${path.slice("/blobs/".length)}" not found in the registry`;
    const detail = said ? `: ${said}` : "";
    if (response.status === 404) return `${what} (HTTP 404${detail})`;
    if (response.status === 401 || response.status === 403) {
      return `access denied by registry "${this.#ref.registry}" (HTTP ${response.status}${detail})`;
    }
    return `registry "${this.#ref.registry}" answered HTTP ${response.status} for ${path}${detail}`;
  }
}
