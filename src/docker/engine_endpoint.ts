/**
 * Where the Docker engine is, decided as the docker CLI decides it: `DOCKER_HOST` (with
 * `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`), else `DOCKER_CONTEXT`, else the `currentContext` of
 * `config.json`, else the default socket. Reads files only; nothing is dialled here.
 */
import { join } from "node:path";
import * as v from "valibot";
import { EngineSetupError } from "./docker_errors.ts";

/** The docker CLI's default engine. */
export const DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock";

/** Client TLS material, PEM text as read from the files. */
export interface EngineTls {
  /** The folder the files came from, for messages. */
  readonly dir: string;
  readonly caCert: string | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
}

/** How to reach one engine. */
export type EngineEndpoint =
  | { readonly kind: "unix"; readonly host: string; readonly source: string; readonly path: string }
  | {
    readonly kind: "tcp";
    readonly host: string;
    readonly source: string;
    /** `host:port`, as it goes into the URL. */
    readonly authority: string;
    readonly tls: EngineTls | undefined;
  }
  | {
    readonly kind: "ssh";
    readonly host: string;
    readonly source: string;
    readonly user: string | undefined;
    readonly hostname: string;
    readonly port: string | undefined;
  };

/** The environment variables the resolution reads (all optional). */
export type EngineEnv = Readonly<Record<string, string | undefined>>;

const ConfigSchema = v.looseObject({ currentContext: v.optional(v.string()) });
const ContextMetaSchema = v.looseObject({
  Name: v.string(),
  Endpoints: v.looseObject({
    docker: v.optional(v.looseObject({
      Host: v.optional(v.string()),
      SkipTLSVerify: v.optional(v.boolean()),
    })),
  }),
});

/**
 * The engine the docker CLI would use with this environment.
 * @throws {EngineSetupError} for a context that does not exist, an unsupported or malformed
 *   host, or TLS files that cannot be read.
 */
export async function resolveEngineEndpoint(env: EngineEnv = Deno.env.toObject()): Promise<
  EngineEndpoint
> {
  const configDir = env.DOCKER_CONFIG || join(env.HOME ?? "", ".docker");
  // As the docker CLI: DOCKER_HOST means the default context, whatever else is set.
  if (env.DOCKER_HOST) return await fromEnvironment(env.DOCKER_HOST, "DOCKER_HOST", env, configDir);
  const explicit = env.DOCKER_CONTEXT;
  const name = explicit || await currentContext(configDir);
  if (!name || name === "default") {
    return await fromEnvironment(DEFAULT_DOCKER_HOST, "the default socket", env, configDir);
  }
  return await fromContext(name, explicit ? "DOCKER_CONTEXT" : "config.json", configDir);
}

/**
 * An endpoint for a `DOCKER_HOST`-style address given directly (no TLS): what tests and tools
 * that name a socket use.
 */
export function endpointOf(host: string, source = "DOCKER_HOST"): EngineEndpoint {
  return parseHost(host, source, undefined);
}

async function fromEnvironment(
  host: string,
  source: string,
  env: EngineEnv,
  configDir: string,
): Promise<EngineEndpoint> {
  // The docker CLI turns TLS on for DOCKER_TLS_VERIFY (verifying) and DOCKER_TLS; flowctl
  // always verifies, against ca.pem when there is one.
  const wantsTls = Boolean(env.DOCKER_TLS_VERIFY) || Boolean(env.DOCKER_TLS);
  const tls = wantsTls
    ? await readTls(env.DOCKER_CERT_PATH || configDir, "DOCKER_CERT_PATH")
    : undefined;
  return parseHost(host, source, tls);
}

async function currentContext(configDir: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(configDir, "config.json"));
  } catch {
    return undefined;
  }
  try {
    const parsed = v.safeParse(ConfigSchema, JSON.parse(text));
    return parsed.success ? parsed.output.currentContext : undefined;
  } catch {
    // A config.json the docker CLI could not read either: the default engine.
    return undefined;
  }
}

async function fromContext(
  name: string,
  from: string,
  configDir: string,
): Promise<EngineEndpoint> {
  const id = await sha256Hex(name);
  const metaFile = join(configDir, "contexts", "meta", id, "meta.json");
  let text: string;
  try {
    text = await Deno.readTextFile(metaFile);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new EngineSetupError(
        `Docker context "${name}" (from ${from}) does not exist: no ${metaFile}; list contexts with "docker context ls"`,
      );
    }
    throw new EngineSetupError(`Cannot read Docker context "${name}" at ${metaFile}: ${error}`);
  }
  let meta: v.InferOutput<typeof ContextMetaSchema>;
  try {
    meta = v.parse(ContextMetaSchema, JSON.parse(text));
  } catch (error) {
    const reason = error instanceof v.ValiError ? v.summarize(error.issues) : String(error);
    throw new EngineSetupError(`Docker context "${name}" at ${metaFile} is malformed: ${reason}`);
  }
  const docker = meta.Endpoints.docker;
  const host = docker?.Host;
  if (!host) {
    throw new EngineSetupError(`Docker context "${name}" at ${metaFile} has no docker endpoint`);
  }
  const source = `Docker context "${name}"`;
  const tlsDir = join(configDir, "contexts", "tls", id, "docker");
  const hasTls = await exists(tlsDir);
  if (docker.SkipTLSVerify) {
    throw new EngineSetupError(
      `${source} skips TLS verification, which flowctl does not do: give the context the engine's CA ("docker context update ${name} --docker ca=…,skip-tls-verify=false")`,
    );
  }
  return parseHost(host, source, hasTls ? await readTls(tlsDir, source) : undefined);
}

function parseHost(host: string, source: string, tls: EngineTls | undefined): EngineEndpoint {
  const bad = (why: string) =>
    new EngineSetupError(`The Docker host "${host}" (${source}) is not usable: ${why}`);
  const scheme = /^([a-z]+):\/\//.exec(host)?.[1];
  if (scheme === "unix") {
    const path = host.slice("unix://".length);
    if (!path.startsWith("/")) throw bad("a unix socket needs an absolute path (unix:///…)");
    return { kind: "unix", host, source, path };
  }
  if (scheme === undefined || scheme === "tcp" || scheme === "http" || scheme === "https") {
    const rest = scheme === undefined ? host : host.slice(scheme.length + 3);
    const authority = rest.replace(/\/+$/, "");
    if (!authority || authority.includes("/")) throw bad("expected tcp://host:port");
    const withPort = /:\d+$/.test(authority) ? authority : `${authority}:${tls ? 2376 : 2375}`;
    return { kind: "tcp", host, source, authority: withPort, tls };
  }
  if (scheme === "ssh") {
    let url: URL;
    try {
      url = new URL(host);
    } catch {
      throw bad("expected ssh://[user@]host[:port]");
    }
    if (url.pathname && url.pathname !== "/") throw bad("an ssh:// host takes no path");
    return {
      kind: "ssh",
      host,
      source,
      user: url.username ? decodeURIComponent(url.username) : undefined,
      hostname: url.hostname,
      port: url.port || undefined,
    };
  }
  throw bad(`flowctl reaches engines over unix://, tcp:// and ssh://, not ${scheme}://`);
}

async function readTls(dir: string, source: string): Promise<EngineTls> {
  const read = async (file: string) => {
    try {
      return await Deno.readTextFile(join(dir, file));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw new EngineSetupError(`Cannot read ${join(dir, file)} (${source}): ${error}`);
    }
  };
  const [caCert, cert, key] = await Promise.all([
    read("ca.pem"),
    read("cert.pem"),
    read("key.pem"),
  ]);
  if ((cert === undefined) !== (key === undefined)) {
    const missing = cert === undefined ? "cert.pem" : "key.pem";
    throw new EngineSetupError(
      `The Docker client certificate in ${dir} (${source}) is incomplete: ${missing} is missing`,
    );
  }
  return { dir, caCert, cert, key };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
