/**
 * Registry credentials as the docker CLI finds them in `~/.docker/config.json` (or
 * `$DOCKER_CONFIG/config.json`): from the credential helper named for the registry in
 * `credHelpers`, else from the one in `credsStore`, else from `auths.<host>.auth` (base64
 * `user:pass`, as `docker login` writes it without a helper). A helper is the program
 * `docker-credential-<name>` on PATH, asked with `get` and the registry's server URL on its
 * standard input; its answer is JSON `{"Username", "Secret"}`.
 */
import { getLogger } from "@logtape/logtape";
import { join } from "node:path";
import * as v from "valibot";
import { safeJson } from "../safe_json.ts";
import { userHome } from "../trust/user_home.ts";

/** A user name and password for one registry. */
export interface Credentials {
  username: string;
  password: string;
}

const logger = getLogger(["flowctl", "registry"]);

const DockerConfigSchema = v.object({
  auths: v.optional(
    v.record(v.string(), v.object({ auth: v.optional(v.string()) })),
  ),
  credsStore: v.optional(v.string()),
  credHelpers: v.optional(v.record(v.string(), v.string())),
});

const HelperAnswerSchema = v.object({ Username: v.string(), Secret: v.string() });

/** A helper name is part of a program name: nothing that could leave PATH's folders. */
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** A helper may wait on a keychain or a cloud API; a pull must not wait on it for ever. */
const HELPER_TIMEOUT_MS = 20_000;
/** The identity-token answer (`docker login` with OAuth); flowctl has no use for it yet. */
const IDENTITY_TOKEN_USER = "<token>";

/** The keys `docker login` files a registry's credentials under; the first is its server URL. */
function keysFor(registry: string): string[] {
  if (["docker.io", "index.docker.io", "registry-1.docker.io"].includes(registry)) {
    return ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"];
  }
  return [registry, `https://${registry}`, `http://${registry}`];
}

/**
 * The credentials for `registry` in the user's docker config, if any. A missing, unreadable or
 * malformed file means none, and so does a helper that fails (it is logged as a warning): the
 * registry may still be open to anonymous pulls, and says so when it is not.
 */
export async function dockerCredentials(
  registry: string,
  options: { helperTimeoutMs?: number } = {},
): Promise<Credentials | undefined> {
  const config = await readDockerConfig();
  if (!config) return undefined;
  const keys = keysFor(registry);
  const helper = keys.map((key) => config.credHelpers?.[key]).find((name) => name) ??
    config.credsStore;
  if (helper) {
    const fromHelper = await askHelperOnce(helper, keys[0]!, options.helperTimeoutMs);
    if (fromHelper) return fromHelper;
  }
  for (const key of keys) {
    const auth = config.auths?.[key]?.auth;
    if (!auth) continue;
    let decoded: string;
    try {
      decoded = atob(auth);
    } catch {
      continue;
    }
    const colon = decoded.indexOf(":");
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

async function readDockerConfig(): Promise<v.InferOutput<typeof DockerConfigSchema> | undefined> {
  let dir = Deno.env.get("DOCKER_CONFIG");
  if (dir === undefined) {
    // Never a relative ".docker" of the current folder: no home means no saved credentials.
    try {
      dir = join(userHome(), ".docker");
    } catch {
      return undefined;
    }
  }
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, "config.json"));
  } catch {
    return undefined;
  }
  const parsed = v.safeParse(DockerConfigSchema, safeJson(text));
  return parsed.success ? parsed.output : undefined;
}

/**
 * How long a helper's answer is reused: a pipeline pulls many images from one registry, and a
 * cloud helper (ecr-login, gcloud) calls its cloud each time; `run --watch` asks again later.
 */
const HELPER_ANSWER_MS = 60_000;
const helperAnswers = new Map<string, { at: number; answer: Promise<Credentials | undefined> }>();

function askHelperOnce(
  name: string,
  serverUrl: string,
  timeoutMs?: number,
): Promise<Credentials | undefined> {
  const key = `${name}\0${serverUrl}`;
  const kept = helperAnswers.get(key);
  if (kept && performance.now() - kept.at < HELPER_ANSWER_MS) return kept.answer;
  const answer = askHelper(name, serverUrl, timeoutMs);
  helperAnswers.set(key, { at: performance.now(), answer });
  return answer;
}

/** Runs `docker-credential-<name> get` for `serverUrl`; undefined when it has nothing. */
async function askHelper(
  name: string,
  serverUrl: string,
  timeoutMs = HELPER_TIMEOUT_MS,
): Promise<Credentials | undefined> {
  const program = `docker-credential-${name}`;
  if (!HELPER_NAME.test(name)) {
    logger.warn("Not running credential helper {program}: not a helper name", { program });
    return undefined;
  }
  let output: Deno.CommandOutput;
  try {
    const child = new Deno.Command(program, {
      args: ["get"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(timeoutMs),
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(serverUrl));
    await writer.close();
    output = await child.output();
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "not found on PATH"
      : error instanceof Error
      ? error.message
      : String(error);
    logger.warn("Credential helper {program} could not run: {reason}", { program, reason });
    return undefined;
  }
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes).trim();
  if (!output.success) {
    const said = text(output.stdout) || text(output.stderr);
    // The helper's own words for "nothing stored for this registry" (docker-credential-helpers).
    if (/credentials not found/i.test(said)) return undefined;
    logger.warn("Credential helper {program} failed for {serverUrl} ({status}): {said}", {
      program,
      serverUrl,
      status: output.signal ? `killed after ${timeoutMs} ms` : `exit code ${output.code}`,
      said: said.split("\n").at(-1) ?? "",
    });
    return undefined;
  }
  const parsed = v.safeParse(HelperAnswerSchema, safeJson(text(output.stdout)));
  if (!parsed.success) {
    logger.warn("Credential helper {program} answered {serverUrl} with no Username and Secret", {
      program,
      serverUrl,
    });
    return undefined;
  }
  if (parsed.output.Username === IDENTITY_TOKEN_USER) {
    logger.warn(
      "Credential helper {program} holds an identity token for {serverUrl}, which flowctl cannot use: log in with a user name and password (or an access token as the password)",
      { program, serverUrl },
    );
    return undefined;
  }
  return { username: parsed.output.Username, password: parsed.output.Secret };
}
