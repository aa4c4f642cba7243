/**
 * The engine over ssh, as `DOCKER_HOST=ssh://…` takes the docker CLI there: a private sshd on
 * loopback (its own host key, authorized key and config, started and stopped here) runs
 * `docker system dial-stdio` against a private dockerd; flowctl runs a container pipeline through
 * it. A login the server refuses is one line, exit 2.
 */
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { buildTestImage, containerPipeline, imageComponent, REQUIRE_DOCKER } from "./_docker.ts";
import { privateEngineUnavailable, startPrivateEngine } from "./_private_engine.ts";
import { freePort, runFlowctl, tempDir, waitFor } from "./_helpers.ts";

const SSHD = "/usr/sbin/sshd";

function sshUnavailable(): string | undefined {
  const engine = privateEngineUnavailable();
  if (engine) return engine;
  for (const program of [SSHD, "/usr/bin/ssh", "/usr/bin/ssh-keygen"]) {
    try {
      Deno.statSync(program);
    } catch {
      return `${program} is not installed (Debian: openssh-server, openssh-client)`;
    }
  }
  const path = (Deno.env.get("PATH") ?? "").split(":");
  if (!path.some((dir) => exists(`${dir}/docker`))) return "no docker CLI for dial-stdio";
  return undefined;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const UNAVAILABLE = sshUnavailable();
if (UNAVAILABLE && !REQUIRE_DOCKER) console.warn(`The ssh engine test is skipped: ${UNAVAILABLE}`);

async function run(program: string, args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(program, {
    args,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (code !== 0) throw new Error(`${program} failed: ${new TextDecoder().decode(stderr)}`);
}

Deno.test({
  name:
    "engine connection over ssh: DOCKER_HOST=ssh:// runs a pipeline through docker system dial-stdio; a refused login is one line, exit 2",
  ignore: UNAVAILABLE !== undefined && !REQUIRE_DOCKER,
  async fn() {
    await using dir = await tempDir("flowctl-engine-ssh-");
    await using engine = await startPrivateEngine();
    await buildTestImage(engine.host);
    const d = dir.path;
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${d}/host_key`]);
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${d}/client_key`]);
    await Deno.copyFile(`${d}/client_key.pub`, `${d}/authorized_keys`);
    const port = freePort();
    await Deno.writeTextFile(
      `${d}/sshd_config`,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${d}/host_key`,
        `AuthorizedKeysFile ${d}/authorized_keys`,
        `PidFile ${d}/sshd.pid`,
        "StrictModes no",
        "UsePAM no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        // The remote docker CLI's engine: the private one.
        `SetEnv DOCKER_HOST=${engine.host}`,
      ].join("\n") + "\n",
    );
    // sshd wants its privilege separation folder.
    await Deno.mkdir("/run/sshd", { recursive: true });
    const sshd = new Deno.Command(SSHD, {
      args: ["-D", "-e", "-f", `${d}/sshd_config`],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const sshdLog = new Response(sshd.stderr).text();
    try {
      await waitFor(
        async () => {
          try {
            (await Deno.connect({ hostname: "127.0.0.1", port })).close();
            return true;
          } catch {
            return false;
          }
        },
        "sshd listening",
        10_000,
      );
      // flowctl runs `ssh` from PATH, as the docker CLI does; this one knows the test's key.
      await Deno.mkdir(`${d}/bin`);
      await Deno.writeTextFile(
        `${d}/ssh_config`,
        [
          "Host 127.0.0.1",
          `  IdentityFile ${d}/client_key`,
          "  IdentitiesOnly yes",
          "  StrictHostKeyChecking no",
          "  UserKnownHostsFile /dev/null",
          "  LogLevel ERROR",
        ].join("\n") + "\n",
      );
      await Deno.writeTextFile(
        `${d}/bin/ssh`,
        `#!/bin/sh\nexec /usr/bin/ssh -F ${d}/ssh_config "$@"\n`,
      );
      await Deno.chmod(`${d}/bin/ssh`, 0o755);
      const env = {
        PATH: `${d}/bin:${Deno.env.get("PATH")}`,
        DOCKER_CONFIG: `${d}/docker`,
      };
      const p = await containerPipeline(
        "ssh",
        "  sinks:\n" + imageComponent("app", { EXIT_AFTER: 0 }, '      restart: "no"\n'),
      );
      const ok = await runFlowctl(p.args, {
        env: { ...env, DOCKER_HOST: `ssh://root@127.0.0.1:${port}` },
      });
      assertEquals(ok.code, 0, ok.stderr);
      assertStringIncludes(ok.stdout, "app | app ready");

      const refused = await runFlowctl(["down", p.file], {
        env: { ...env, DOCKER_HOST: `ssh://flowctl-no-such-user@127.0.0.1:${port}` },
      });
      assertEquals(refused.code, 2, refused.stderr);
      assertEquals(refused.stderr.trim().split("\n").length, 1, refused.stderr);
      assertStringIncludes(
        refused.stderr,
        `flowctl: Cannot reach the Docker engine at ssh://flowctl-no-such-user@127.0.0.1:${port} (DOCKER_HOST) over ssh: `,
      );
      assertStringIncludes(refused.stderr, "Permission denied (publickey)");
    } finally {
      sshd.kill("SIGTERM");
      await sshd.status;
      const log = await sshdLog;
      if (log.includes("fatal")) console.error(log);
    }
  },
});
