import { assertEquals } from "../../tests/assert.ts";
import { dockerCredentials } from "./docker_credentials.ts";

/**
 * A docker config folder with `config`, and a folder of credential helpers first on PATH, for
 * the duration of `body`. Each helper is a shell script; `log` gets what each one was asked.
 */
async function withDockerConfig(
  config: unknown,
  helpers: Record<string, string>,
  body: (log: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "flowctl-credentials-" });
  const before = { DOCKER_CONFIG: Deno.env.get("DOCKER_CONFIG"), PATH: Deno.env.get("PATH") };
  try {
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
    await Deno.mkdir(`${dir}/bin`);
    for (const [name, script] of Object.entries(helpers)) {
      const path = `${dir}/bin/docker-credential-${name}`;
      // The server URL comes on standard input: the script gets it as $url, and logs the ask.
      await Deno.writeTextFile(
        path,
        `#!/bin/sh\nurl=$(cat)\necho "${name} $1 $url" >> ${dir}/asked.log\n${script}\n`,
      );
      await Deno.chmod(path, 0o755);
    }
    Deno.env.set("DOCKER_CONFIG", dir);
    Deno.env.set("PATH", `${dir}/bin:${before.PATH ?? "/usr/bin:/bin"}`);
    await body(`${dir}/asked.log`);
  } finally {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
    await Deno.remove(dir, { recursive: true });
  }
}

const asked = (log: string) => Deno.readTextFile(log).then((t) => t.trim().split("\n"), () => []);

Deno.test("dockerCredentials() asks the credsStore helper with the registry's server URL", async () => {
  await withDockerConfig(
    { credsStore: "store", auths: { "registry.example:5000": {} } },
    {
      store:
        `[ "$url" = "registry.example:5000" ] || { echo "credentials not found in native keychain"; exit 1; }
printf '{"ServerURL":"%s","Username":"ci","Secret":"s3cr?t>>"}' "$url"`,
    },
    async (log) => {
      assertEquals(await dockerCredentials("registry.example:5000"), {
        username: "ci",
        password: "s3cr?t>>",
      });
      // Nothing stored for it: no credentials, and no warning either.
      assertEquals(await dockerCredentials("other.example"), undefined);
      assertEquals(await asked(log), [
        "store get registry.example:5000",
        "store get other.example",
      ]);
    },
  );
});

Deno.test("dockerCredentials() prefers the registry's credHelpers entry, and falls back to auths", async () => {
  await withDockerConfig(
    {
      credsStore: "store",
      credHelpers: { "https://index.docker.io/v1/": "hub" },
      auths: { "plain.example": { auth: btoa("file-user:file-pass") } },
    },
    {
      store: `echo "credentials not found in native keychain"; exit 1`,
      hub: `echo '{"Username":"hub-user","Secret":"hub-pass"}'`,
    },
    async (log) => {
      assertEquals(await dockerCredentials("docker.io"), {
        username: "hub-user",
        password: "hub-pass",
      });
      assertEquals(await dockerCredentials("plain.example"), {
        username: "file-user",
        password: "file-pass",
      });
      assertEquals(await asked(log), [
        "hub get https://index.docker.io/v1/",
        "store get plain.example",
      ]);
    },
  );
});

Deno.test("dockerCredentials() gets nothing from a helper that fails, hangs, is missing or is no name", async () => {
  const cases: [string, string][] = [
    ["broken", `echo "keychain locked" >&2; exit 3`],
    ["garbled", `echo 'not json'`],
    ["token", `echo '{"Username":"<token>","Secret":"refresh"}'`],
    ["slow", `exec sleep 30`],
    ["../../bin/sh", ""],
    ["absent", ""],
  ];
  for (const [helper, script] of cases) {
    const helpers: Record<string, string> = helper === "absent" || helper.includes("/")
      ? {}
      : { [helper]: script };
    await withDockerConfig({ credsStore: helper }, helpers, async () => {
      assertEquals(
        await dockerCredentials("registry.example", { helperTimeoutMs: 300 }),
        undefined,
        helper,
      );
    });
  }
});

Deno.test("dockerCredentials() asks a helper once for many pulls from one registry", async () => {
  await withDockerConfig(
    { credsStore: "memo" },
    { memo: `echo '{"Username":"u","Secret":"p"}'` },
    async (log) => {
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => dockerCredentials("many.example")),
      );
      assertEquals(answers.every((a) => a?.username === "u" && a.password === "p"), true);
      assertEquals(await dockerCredentials("many.example"), { username: "u", password: "p" });
      assertEquals(await asked(log), ["memo get many.example"]);
    },
  );
});
