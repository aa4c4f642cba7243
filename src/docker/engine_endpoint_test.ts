import { assertEquals, assertRejects } from "../../tests/assert.ts";
import { resolveEngineEndpoint } from "./engine_endpoint.ts";
import { EngineSetupError } from "./docker_errors.ts";

async function contextDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "flowctl-contexts-" });
  for (
    const [name, host] of [["remote", "tcp://10.1.2.3:2376"], ["viassh", "ssh://ops@box:2222"]]
  ) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(name));
    const id = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
    await Deno.mkdir(`${dir}/contexts/meta/${id}`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/contexts/meta/${id}/meta.json`,
      JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: host } } }),
    );
    if (name === "remote") {
      await Deno.mkdir(`${dir}/contexts/tls/${id}/docker`, { recursive: true });
      await Deno.writeTextFile(`${dir}/contexts/tls/${id}/docker/ca.pem`, "CA");
    }
  }
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ currentContext: "remote" }));
  return dir;
}

Deno.test("resolveEngineEndpoint() decides as the docker CLI: DOCKER_HOST, DOCKER_CONTEXT, currentContext, default", async () => {
  const dir = await contextDir();
  try {
    const env = { DOCKER_CONFIG: dir };
    // DOCKER_HOST wins over any context.
    const byHost = await resolveEngineEndpoint({
      ...env,
      DOCKER_HOST: "unix:///run/x.sock",
      DOCKER_CONTEXT: "remote",
    });
    assertEquals([byHost.kind, byHost.host, byHost.source], [
      "unix",
      "unix:///run/x.sock",
      "DOCKER_HOST",
    ]);
    const byEnv = await resolveEngineEndpoint({ ...env, DOCKER_CONTEXT: "viassh" });
    assertEquals(byEnv.kind === "ssh" && [byEnv.user, byEnv.hostname, byEnv.port], [
      "ops",
      "box",
      "2222",
    ]);
    const current = await resolveEngineEndpoint(env);
    assertEquals(
      current.kind === "tcp" && [current.authority, current.tls?.caCert, current.source],
      [
        "10.1.2.3:2376",
        "CA",
        'Docker context "remote"',
      ],
    );
    const fallback = await resolveEngineEndpoint({ ...env, DOCKER_CONTEXT: "default" });
    assertEquals(fallback.host, "unix:///var/run/docker.sock");
    // TLS from the environment: the default port is 2376, files from DOCKER_CERT_PATH.
    await Deno.writeTextFile(`${dir}/cert.pem`, "CERT");
    await assertRejects(
      () =>
        resolveEngineEndpoint({
          DOCKER_HOST: "tcp://h",
          DOCKER_TLS_VERIFY: "1",
          DOCKER_CERT_PATH: dir,
        }),
      EngineSetupError,
      "key.pem is missing",
    );
    await Deno.writeTextFile(`${dir}/key.pem`, "KEY");
    const tls = await resolveEngineEndpoint({
      DOCKER_HOST: "tcp://h",
      DOCKER_TLS_VERIFY: "1",
      DOCKER_CERT_PATH: dir,
    });
    assertEquals(tls.kind === "tcp" && [tls.authority, tls.tls?.cert, tls.tls?.key], [
      "h:2376",
      "CERT",
      "KEY",
    ]);
    await assertRejects(
      () => resolveEngineEndpoint({ ...env, DOCKER_CONTEXT: "gone" }),
      EngineSetupError,
      'Docker context "gone" (from DOCKER_CONTEXT) does not exist',
    );
    await assertRejects(
      () => resolveEngineEndpoint({ DOCKER_HOST: "npipe:////./pipe/docker_engine" }),
      EngineSetupError,
      "not npipe://",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
