/**
 * Registry credentials from `~/.docker/config.json` (`auths.<host>.auth`, base64 `user:pass`), as
 * `docker login` writes them. Credential helpers (`credsStore`, `credHelpers`) are not run.
 */
import { join } from "node:path";
import * as v from "valibot";
import { userHome } from "../trust/user_home.ts";

/** A user name and password for one registry. */
export interface Credentials {
  username: string;
  password: string;
}

const DockerConfigSchema = v.object({
  auths: v.optional(
    v.record(v.string(), v.object({ auth: v.optional(v.string()) })),
  ),
});

/** The keys `docker login` files a registry's credentials under. */
function keysFor(registry: string): string[] {
  if (["docker.io", "index.docker.io", "registry-1.docker.io"].includes(registry)) {
    return ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"];
  }
  return [registry, `https://${registry}`, `http://${registry}`];
}

/**
 * The credentials for `registry` in the docker config of `home` (or `DOCKER_CONFIG`), if any.
 * A missing or unreadable file means none; a malformed one is ignored the same way, since
 * anonymous access may still work.
 */
export async function dockerCredentials(registry: string): Promise<Credentials | undefined> {
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
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = v.safeParse(DockerConfigSchema, data);
  if (!parsed.success) return undefined;
  for (const key of keysFor(registry)) {
    const auth = parsed.output.auths?.[key]?.auth;
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
