import { assertEquals } from "../../tests/assert.ts";
import { registryAuthHeader } from "./registry_auth.ts";

Deno.test("registryAuthHeader() carries the docker login of the image's registry, base64url JSON", async () => {
  const dir = await Deno.makeTempDir({ prefix: "flowctl-auth-" });
  const before = Deno.env.get("DOCKER_CONFIG");
  try {
    await Deno.writeTextFile(
      `${dir}/config.json`,
      JSON.stringify({
        auths: {
          "registry.example:5000": { auth: btoa("ci:s3cr?t>>") },
          "https://index.docker.io/v1/": { auth: btoa("hub-user:hub-pass") },
        },
      }),
    );
    Deno.env.set("DOCKER_CONFIG", dir);
    const decode = (header: string | undefined) =>
      JSON.parse(atob((header ?? "").replaceAll("-", "+").replaceAll("_", "/")));
    const header = await registryAuthHeader("registry.example:5000/team/source:1");
    assertEquals(/^[A-Za-z0-9_=-]+$/.test(header ?? ""), true, header);
    assertEquals(decode(header), {
      username: "ci",
      password: "s3cr?t>>",
      serveraddress: "registry.example:5000",
    });
    assertEquals(decode(await registryAuthHeader("withobsrvr/source:latest")), {
      username: "hub-user",
      password: "hub-pass",
      serveraddress: "https://index.docker.io/v1/",
    });
    assertEquals(await registryAuthHeader("other.example/x:1"), undefined);
  } finally {
    if (before === undefined) Deno.env.delete("DOCKER_CONFIG");
    else Deno.env.set("DOCKER_CONFIG", before);
    await Deno.remove(dir, { recursive: true });
  }
});
