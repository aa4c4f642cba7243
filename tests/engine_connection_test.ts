/**
 * The engine reached as the docker CLI reaches it: a private dockerd listening on tcp with TLS
 * (certificates made here with openssl), reached through DOCKER_HOST/DOCKER_TLS_VERIFY/
 * DOCKER_CERT_PATH and through a Docker context; wrong certificates, plain HTTP to a TLS port
 * and an unknown context each give one line and exit 2; a unix socket needs no DNS.
 */
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { buildTestImage, containerPipeline, imageComponent, REQUIRE_DOCKER } from "./_docker.ts";
import { privateEngineUnavailable, startPrivateEngine } from "./_private_engine.ts";
import { freePort, runFlowctl, tempDir } from "./_helpers.ts";
import { makeCa, makeEngineCertificates } from "./_tls.ts";

const UNAVAILABLE = privateEngineUnavailable();
if (UNAVAILABLE && !REQUIRE_DOCKER) {
  console.warn(`The engine connection tests are skipped: ${UNAVAILABLE}`);
}

/** The meta.json and TLS files `docker context create <name> --docker host=…,ca=…,…` writes. */
async function writeContext(
  configDir: string,
  name: string,
  host: string,
  tlsDir: string | undefined,
): Promise<void> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(name));
  const id = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  const metaDir = `${configDir}/contexts/meta/${id}`;
  await Deno.mkdir(metaDir, { recursive: true });
  await Deno.writeTextFile(
    `${metaDir}/meta.json`,
    JSON.stringify({
      Name: name,
      Metadata: {},
      Endpoints: { docker: { Host: host, SkipTLSVerify: false } },
    }),
  );
  if (tlsDir) {
    const target = `${configDir}/contexts/tls/${id}/docker`;
    await Deno.mkdir(target, { recursive: true });
    for (const file of ["ca.pem", "cert.pem", "key.pem"]) {
      await Deno.copyFile(`${tlsDir}/${file}`, `${target}/${file}`);
    }
  }
}

Deno.test({
  name:
    "engine connection: tcp with TLS through DOCKER_TLS_VERIFY and through a context; wrong CA, plain HTTP and an unknown context are one line, exit 2",
  ignore: UNAVAILABLE !== undefined && !REQUIRE_DOCKER,
  async fn() {
    await using dir = await tempDir("flowctl-engine-tls-");
    const certs = await makeEngineCertificates(dir.path, ["127.0.0.1"]);
    const port = freePort();
    await using engine = await startPrivateEngine({ args: certs.dockerdArgs("127.0.0.1", port) });
    await buildTestImage(engine.host);
    const tcp = `tcp://127.0.0.1:${port}`;
    const p = await containerPipeline(
      "tls",
      "  sinks:\n" + imageComponent("app", { EXIT_AFTER: 0 }, '      restart: "no"\n'),
    );
    // Nothing of the user's own docker config may leak in.
    const base = { DOCKER_CONFIG: `${dir.path}/docker` };

    const viaEnv = await runFlowctl(p.args, {
      env: { ...base, DOCKER_HOST: tcp, DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: certs.clientDir },
    });
    assertEquals(viaEnv.code, 0, viaEnv.stderr);
    assertStringIncludes(viaEnv.stdout, "app | app ready");

    await writeContext(base.DOCKER_CONFIG, "tls-engine", tcp, certs.clientDir);
    await Deno.writeTextFile(
      `${base.DOCKER_CONFIG}/config.json`,
      JSON.stringify({ currentContext: "tls-engine" }),
    );
    const viaContext = await runFlowctl(p.args, { env: base });
    assertEquals(viaContext.code, 0, viaContext.stderr);
    assertStringIncludes(viaContext.stdout, "app | app ready");

    // Another CA than the one that signed the engine's certificate.
    const wrong = `${dir.path}/wrong`;
    await Deno.mkdir(wrong);
    await makeCa(wrong, "ca");
    await Deno.copyFile(`${certs.clientDir}/cert.pem`, `${wrong}/cert.pem`);
    await Deno.copyFile(`${certs.clientDir}/key.pem`, `${wrong}/key.pem`);
    const wrongCa = await runFlowctl(["down", p.file], {
      env: { ...base, DOCKER_HOST: tcp, DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: wrong },
    });
    assertEquals(wrongCa.code, 2, wrongCa.stderr);
    assertEquals(wrongCa.stderr.trim().split("\n").length, 1, wrongCa.stderr);
    assertStringIncludes(
      wrongCa.stderr,
      `flowctl: The Docker engine at ${tcp} (DOCKER_HOST) failed TLS verification: invalid peer certificate: `,
    );
    assertStringIncludes(
      wrongCa.stderr,
      `; its certificate is not one that ${wrong}/ca.pem vouches for`,
    );

    const plain = await runFlowctl(["down", p.file], { env: { ...base, DOCKER_HOST: tcp } });
    assertEquals(plain.code, 2, plain.stderr);
    assertEquals(
      plain.stderr.trim(),
      `flowctl: The Docker engine at ${tcp} (DOCKER_HOST) speaks TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the folder holding ca.pem, cert.pem and key.pem, or use a Docker context made with them`,
    );

    const unknown = await runFlowctl(["down", p.file], {
      env: { ...base, DOCKER_CONTEXT: "no-such-context" },
    });
    assertEquals(unknown.code, 2, unknown.stderr);
    assertStringIncludes(
      unknown.stderr,
      'flowctl: Docker context "no-such-context" (from DOCKER_CONTEXT) does not exist',
    );
    assertEquals(unknown.stderr.trim().split("\n").length, 1, unknown.stderr);
  },
});

Deno.test({
  name: "engine connection: a unix socket is used without any DNS lookup",
  ignore: UNAVAILABLE !== undefined && !REQUIRE_DOCKER,
  async fn() {
    await using dir = await tempDir("flowctl-engine-dns-");
    await using engine = await startPrivateEngine();
    const p = await containerPipeline("nodns", "  sinks:\n" + imageComponent("app", {}));
    // A network namespace whose only name server swallows every query: a lookup never returns.
    await Deno.writeTextFile(
      `${dir.path}/resolv.conf`,
      "nameserver 10.254.0.2\noptions timeout:30 attempts:1\n",
    );
    await Deno.writeTextFile(`${dir.path}/hosts`, "\n");
    const wrapper = [
      "unshare",
      "--net",
      "--mount",
      "sh",
      "-c",
      [
        "ip link set lo up",
        "ip addr add 10.254.0.1/24 dev lo",
        "iptables -A INPUT -d 10.254.0.2 -j DROP",
        `mount --bind ${dir.path}/resolv.conf /etc/resolv.conf`,
        `mount --bind ${dir.path}/hosts /etc/hosts`,
        'exec "$@"',
      ].join(" && "),
      "sh",
    ];
    const down = await runFlowctl(["down", p.file], {
      wrapper,
      env: { DOCKER_HOST: engine.host },
    });
    assertEquals(down.code, 0, down.stderr);
    assertStringIncludes(down.stdout, `Nothing of pipeline ${p.name} was left to clean up`);
  },
});
