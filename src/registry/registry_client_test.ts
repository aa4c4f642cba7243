import { assertEquals, assertRejects } from "../../tests/assert.ts";
import { imageReference } from "./reference.ts";
import { RegistryClient } from "./registry_client.ts";
import { RegistryError } from "./registry_error.ts";

/**
 * A registry that hands out tokens as Docker Hub does: 401 with a Bearer challenge, a token
 * service at the realm (which checks basic credentials when `user` is set), then the manifest
 * for that token only.
 */
function tokenRegistry(user?: string) {
  const seen: string[] = [];
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, (request): Response => {
    const url = new URL(request.url);
    const auth = request.headers.get("authorization") ?? "";
    seen.push(`${url.pathname}${url.search} ${auth}`);
    if (url.pathname === "/token") {
      if (user && auth !== `Basic ${btoa(user)}`) return new Response("denied", { status: 401 });
      return Response.json({ token: `token-for-${url.searchParams.get("scope")}` });
    }
    if (auth !== "Bearer token-for-repository:acme/app:pull") {
      return new Response(JSON.stringify({ errors: [{ code: "UNAUTHORIZED" }] }), {
        status: 401,
        headers: {
          "www-authenticate":
            `Bearer realm="http://127.0.0.1:${server.addr.port}/token",service="test-registry",scope="repository:acme/app:pull"`,
        },
      });
    }
    return new Response("{}", {
      headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
    });
  });
  return { server, seen, host: `127.0.0.1:${server.addr.port}` };
}

Deno.test("RegistryClient follows a Bearer challenge: anonymous token, then the manifest", async () => {
  const { server, seen, host } = tokenRegistry();
  try {
    const client = new RegistryClient(imageReference(`${host}/acme/app:v1`));
    const manifest = await client.manifest("v1");
    assertEquals(new TextDecoder().decode(manifest.bytes), "{}");
    assertEquals(seen, [
      "/v2/acme/app/manifests/v1 ",
      "/token?service=test-registry&scope=repository%3Aacme%2Fapp%3Apull ",
      "/v2/acme/app/manifests/v1 Bearer token-for-repository:acme/app:pull",
    ]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("RegistryClient sends docker config credentials to the token service", async () => {
  const { server, seen, host } = tokenRegistry("me:pw");
  const dir = await Deno.makeTempDir();
  const before = Deno.env.get("DOCKER_CONFIG");
  Deno.env.set("DOCKER_CONFIG", dir);
  try {
    await assertRejects(
      () => new RegistryClient(imageReference(`${host}/acme/app:v1`)).manifest("v1"),
      RegistryError,
      `the token service "http://${host}" refused (HTTP 401)`,
    );
    await Deno.writeTextFile(
      `${dir}/config.json`,
      JSON.stringify({ auths: { [host]: { auth: btoa("me:pw") } } }),
    );
    seen.length = 0;
    await new RegistryClient(imageReference(`${host}/acme/app:v1`)).manifest("v1");
    assertEquals(
      seen[1],
      `/token?service=test-registry&scope=repository%3Aacme%2Fapp%3Apull Basic ${btoa("me:pw")}`,
    );
  } finally {
    if (before === undefined) Deno.env.delete("DOCKER_CONFIG");
    else Deno.env.set("DOCKER_CONFIG", before);
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("RegistryClient refuses a manifest larger than 4 MiB without reading all of it", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(new Uint8Array(5 * 1024 * 1024).fill(32)),
  );
  try {
    const host = `127.0.0.1:${server.addr.port}`;
    await assertRejects(
      () => new RegistryClient(imageReference(`${host}/acme/app:v1`)).manifest("v1"),
      RegistryError,
      `image "${host}/acme/app:v1": manifest "v1" is larger than 4194304 bytes`,
    );
  } finally {
    await server.shutdown();
  }
});
