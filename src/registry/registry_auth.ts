/**
 * The `X-Registry-Auth` header of the Engine API, from the user's `docker login` credentials, as
 * `docker stack deploy --with-registry-auth` sends it: the swarm hands it to the nodes that pull
 * the service's image.
 */
import { dockerCredentials } from "./docker_credentials.ts";
import { imageReference } from "./reference.ts";

/**
 * The header value for pulling `image` (base64url of `{username, password, serveraddress}`), or
 * undefined when the user has no credentials for its registry.
 */
export async function registryAuthHeader(image: string): Promise<string | undefined> {
  let registry: string;
  try {
    registry = imageReference(image).registry;
  } catch {
    return undefined; // the engine will say what is wrong with the reference
  }
  const credentials = await dockerCredentials(registry);
  if (!credentials) return undefined;
  const json = JSON.stringify({
    username: credentials.username,
    password: credentials.password,
    serveraddress: registry === "docker.io" ? "https://index.docker.io/v1/" : registry,
  });
  const bytes = new TextEncoder().encode(json);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_");
}
