/**
 * A real registry on loopback for tests (Debian's docker-registry, the Distribution API), and
 * images pushed to it over HTTP with fetch, built in the test from files it describes: tar by
 * modern-tar, gzip by CompressionStream, no Docker.
 */
import { createHash } from "node:crypto";
import bcrypt from "bcryptjs";
import { packTar, type TarEntry } from "modern-tar";
import {
  freePort,
  runFlowctl,
  type RunResult,
  tempDir,
  type TestPipeline,
  waitFor,
} from "./_helpers.ts";

export const REGISTRY_BINARY = "/usr/bin/docker-registry";

/** One entry of a layer: a file (mode 0644 unless given), a folder, a symlink or a whiteout. */
export type LayerEntry =
  | { path: string; text: string; mode?: number }
  | { path: string; bytes: Uint8Array<ArrayBuffer>; mode?: number }
  | { path: string; dir: true }
  | { path: string; symlink: string };

/** A `#!/bin/sh` script of `body` as a layer entry's content, executable. */
export function shellScript(body: string): { text: string; mode: number } {
  return { text: `#!/bin/sh\n${body}\n`, mode: 0o755 };
}

/** A blob as pushed: its bytes and digest. */
export interface LayerBlob {
  bytes: Uint8Array<ArrayBuffer>;
  digest: string;
  /** Digest of the uncompressed tar (the image config's diff_id, which engines check). */
  diffId: string;
}

const MEDIA_TYPES = {
  oci: {
    index: "application/vnd.oci.image.index.v1+json",
    manifest: "application/vnd.oci.image.manifest.v1+json",
    config: "application/vnd.oci.image.config.v1+json",
    layer: "application/vnd.oci.image.layer.v1.tar+gzip",
  },
  docker: {
    index: "application/vnd.docker.distribution.manifest.list.v2+json",
    manifest: "application/vnd.docker.distribution.manifest.v2+json",
    config: "application/vnd.docker.container.image.v1+json",
    layer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  },
} as const;

export interface PushOptions {
  tag?: string;
  /** OCI media types (default) or Docker schema-2 ones. */
  format?: "oci" | "docker";
}

/** The run settings of an image config that the tests use. */
export interface RunConfig {
  Entrypoint?: string[];
  Cmd?: string[];
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** A gzip-compressed tar layer of `entries`. */
export async function layer(entries: readonly LayerEntry[]): Promise<LayerBlob> {
  const tarEntries: TarEntry[] = entries.map((entry) => {
    if ("dir" in entry) return { header: { name: `${entry.path}/`, type: "directory", size: 0 } };
    if ("symlink" in entry) {
      return { header: { name: entry.path, type: "symlink", size: 0, linkname: entry.symlink } };
    }
    const body = "text" in entry ? new TextEncoder().encode(entry.text) : entry.bytes;
    return {
      header: { name: entry.path, type: "file", size: body.length, mode: entry.mode ?? 0o644 },
      body,
    };
  });
  const tar = await packTar(tarEntries);
  const gzipped = new Uint8Array(
    await new Response(new Blob([tar]).stream().pipeThrough(new CompressionStream("gzip")))
      .arrayBuffer(),
  );
  return { bytes: gzipped, digest: sha256(gzipped), diffId: sha256(tar) };
}

/** A layer of one file, `path` (default `component`): a shell script of `body`. */
export function scriptLayer(body: string, path = "component"): Promise<LayerBlob> {
  return layer([{ path, ...shellScript(body) }]);
}

/** A started docker-registry; stop() (or disposal) kills it and removes its storage. */
export class LocalRegistry implements AsyncDisposable {
  readonly host: string;
  readonly storage: string;
  readonly #child: Deno.ChildProcess;
  readonly #auth: string | undefined;
  #stopped = false;

  private constructor(host: string, storage: string, child: Deno.ChildProcess, auth?: string) {
    this.host = host;
    this.storage = storage;
    this.#child = child;
    this.#auth = auth;
  }

  /** Starts a registry on a free loopback port; with `user`, only that user may read or push. */
  static async start(user?: { name: string; password: string }): Promise<LocalRegistry> {
    try {
      await Deno.stat(REGISTRY_BINARY);
    } catch {
      throw new Error(
        `${REGISTRY_BINARY} is missing: the registry tests need Debian's docker-registry (apt-get install docker-registry; .ci/run installs it)`,
      );
    }
    const dir = await Deno.makeTempDir({ prefix: "flowctl-registry-" });
    const port = freePort();
    let auth = "";
    if (user) {
      await Deno.writeTextFile(
        `${dir}/htpasswd`,
        `${user.name}:${bcrypt.hashSync(user.password, 5)}\n`,
      );
      auth = `auth:\n  htpasswd:\n    realm: flowctl-test\n    path: ${dir}/htpasswd\n`;
    }
    await Deno.writeTextFile(
      `${dir}/config.yml`,
      `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\n` +
        `http:\n  addr: 127.0.0.1:${port}\n${auth}`,
    );
    const child = new Deno.Command(REGISTRY_BINARY, {
      args: ["serve", `${dir}/config.yml`],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const registry = new LocalRegistry(
      `127.0.0.1:${port}`,
      `${dir}/data`,
      child,
      user ? `Basic ${btoa(`${user.name}:${user.password}`)}` : undefined,
    );
    try {
      await waitFor(async () => {
        try {
          const response = await fetch(`http://127.0.0.1:${port}/v2/`);
          await response.body?.cancel();
          return response.status === 200 || response.status === 401;
        } catch {
          return false;
        }
      }, `docker-registry on port ${port}`);
    } catch (error) {
      await registry.stop();
      throw error;
    }
    return registry;
  }

  /** Pushes a blob (monolithic upload: POST, then PUT with the digest). */
  async pushBlob(repository: string, blob: Pick<LayerBlob, "bytes" | "digest">): Promise<void> {
    const start = await this.#fetch(`/v2/${repository}/blobs/uploads/`, { method: "POST" });
    await start.body?.cancel();
    if (start.status !== 202) throw new Error(`blob upload start: HTTP ${start.status}`);
    const location = new URL(start.headers.get("location") ?? "", `http://${this.host}`);
    location.searchParams.set("digest", blob.digest);
    const put = await this.#fetch(location.pathname + location.search, {
      method: "PUT",
      headers: { "Content-Type": "application/octet-stream" },
      body: blob.bytes,
    });
    const text = await put.text();
    if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status} ${text}`);
  }

  /** Pushes a manifest (or index) under `tagOrDigest`; returns its digest. */
  async pushManifest(
    repository: string,
    tagOrDigest: string,
    manifest: unknown,
    mediaType: string,
  ): Promise<string> {
    const bytes = new TextEncoder().encode(JSON.stringify(manifest));
    const response = await this.#fetch(`/v2/${repository}/manifests/${tagOrDigest}`, {
      method: "PUT",
      headers: { "Content-Type": mediaType },
      body: bytes,
    });
    const text = await response.text();
    if (response.status !== 201) throw new Error(`manifest push: HTTP ${response.status} ${text}`);
    return sha256(bytes);
  }

  /**
   * Pushes an image of `layers` (its config for `architecture`, amd64 unless given) as
   * `repository:tag`, or by digest only when there is no tag; returns the manifest's digest and
   * size. `format: "docker"` pushes Docker schema-2 media types instead of OCI ones.
   */
  async pushImage(
    repository: string,
    layers: readonly LayerBlob[],
    options: PushOptions & { architecture?: string; runConfig?: RunConfig } = {},
  ): Promise<{ digest: string; size: number }> {
    const types = MEDIA_TYPES[options.format ?? "oci"];
    const config = new TextEncoder().encode(JSON.stringify({
      architecture: options.architecture ?? "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
      config: options.runConfig ?? {},
    }));
    const configBlob = { bytes: config, digest: sha256(config) };
    await this.pushBlob(repository, configBlob);
    for (const blob of layers) await this.pushBlob(repository, blob);
    const manifest = {
      schemaVersion: 2,
      mediaType: types.manifest,
      config: { mediaType: types.config, digest: configBlob.digest, size: config.length },
      layers: layers.map((l) => ({
        mediaType: types.layer,
        digest: l.digest,
        size: l.bytes.length,
      })),
    };
    const bytes = new TextEncoder().encode(JSON.stringify(manifest));
    const digest = await this.pushManifest(
      repository,
      options.tag ?? sha256(bytes),
      manifest,
      types.manifest,
    );
    return { digest, size: bytes.length };
  }

  /** Pushes an image of one layer holding `path` (default `component`), a shell script of `body`. */
  async pushScript(
    repository: string,
    body: string,
    options: PushOptions & { path?: string } = {},
  ): Promise<{ digest: string; size: number }> {
    const { path = "component", ...push } = options;
    return await this.pushImage(repository, [await scriptLayer(body, path)], push);
  }

  /** Pushes an index (a manifest list) of one image per architecture. */
  async pushIndex(
    repository: string,
    images: Readonly<Record<string, readonly LayerBlob[]>>,
    options: PushOptions & { tag: string },
  ): Promise<void> {
    const types = MEDIA_TYPES[options.format ?? "oci"];
    const manifests = [];
    for (const [architecture, layers] of Object.entries(images)) {
      const format = options.format ?? "oci";
      const { digest, size } = await this.pushImage(repository, layers, { architecture, format });
      manifests.push({
        mediaType: types.manifest,
        digest,
        size,
        platform: { os: "linux", architecture },
      });
    }
    await this.pushManifest(
      repository,
      options.tag,
      { schemaVersion: 2, mediaType: types.index, manifests },
      types.index,
    );
  }

  /** Where the registry keeps a blob's bytes on disk (to corrupt it). */
  blobPath(digest: string): string {
    const hex = digest.slice("sha256:".length);
    return `${this.storage}/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
  }

  #fetch(path: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#auth) headers.set("Authorization", this.#auth);
    return fetch(`http://${this.host}${path}`, { ...init, headers });
  }

  /** Kills the registry and waits for it; its storage folder is removed. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.#child.status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    await Deno.remove(this.storage.replace(/\/data$/, ""), { recursive: true }).catch(() => {});
  }
}

/** A temp folder that holds flowctl's cache and HOME for one test; `await using` removes it. */
export interface RegistryWorkspace extends AsyncDisposable {
  readonly dir: string;
  /** XDG_CACHE_HOME and HOME in `dir`, DENO_DIR where it was. */
  readonly env: Record<string, string>;
  /** Runs `flowctl run` of `pipeline` to completion, with this workspace's cache and HOME. */
  run(pipeline: TestPipeline): Promise<RunResult>;
  /** Runs `flowctl <args>` to completion with this workspace's cache and HOME (and `env`). */
  flowctl(args: string[], env?: Record<string, string>): Promise<RunResult>;
}

/**
 * A temp folder for one test: flowctl's cache (XDG_CACHE_HOME) and HOME (for ~/.docker).
 * DENO_DIR stays where it was, so changing those does not make Deno download its npm packages
 * again.
 */
export async function registryWorkspace(): Promise<RegistryWorkspace> {
  const folder = await tempDir("flowctl-registry-test-");
  const dir = folder.path;
  const home = Deno.env.get("HOME") ?? "/root";
  const denoDir = Deno.env.get("DENO_DIR") ??
    `${Deno.env.get("XDG_CACHE_HOME") ?? `${home}/.cache`}/deno`;
  const env = { XDG_CACHE_HOME: `${dir}/cache`, HOME: dir, DENO_DIR: denoDir };
  const flowctl = (args: string[], extra: Record<string, string> = {}) =>
    runFlowctl(args, { env: { ...env, ...extra } });
  return {
    dir,
    env,
    flowctl,
    run: (pipeline) => flowctl(pipeline.args, pipeline.env),
    [Symbol.asyncDispose]: () => folder[Symbol.asyncDispose](),
  };
}
