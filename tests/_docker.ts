/** Docker helpers for tests: whether an engine answers, the test image, leftovers by label. */
import { DockerClient } from "../src/docker/docker_client.ts";
import { buildImage } from "../src/docker/image_api.ts";
import { createTar } from "../src/docker/tar.ts";
import { pipelineYaml, ROOT, runArgs, tempDir, writeTemp } from "./_helpers.ts";

export const TEST_IMAGE = "flowctl-test/busybox:1";
export const REQUIRE_DOCKER = Deno.env.get("FLOWCTL_REQUIRE_DOCKER") === "1";

async function engineAnswers(): Promise<boolean> {
  try {
    using _docker = await DockerClient.connect();
    return true;
  } catch {
    return false;
  }
}

/** True when Docker tests should be skipped: no engine answers and FLOWCTL_REQUIRE_DOCKER is unset. */
export const SKIP_DOCKER = !REQUIRE_DOCKER && !(await engineAnswers());
if (SKIP_DOCKER) {
  console.warn(
    "No Docker engine answers: Docker tests are skipped (set FLOWCTL_REQUIRE_DOCKER=1 to fail instead)",
  );
}

/**
 * Builds the busybox test image (FROM scratch: static busybox and tests/fixtures/image/run.sh) in
 * the engine at `dockerHost` (default: `DOCKER_HOST` or the local socket).
 */
export async function buildTestImage(dockerHost?: string): Promise<void> {
  using docker = await DockerClient.connect(dockerHost);
  const context = createTar([
    {
      path: "Dockerfile",
      data: new TextEncoder().encode(
        'FROM scratch\nCOPY busybox /bin/busybox\nCOPY run.sh /app/run.sh\nENTRYPOINT ["/bin/busybox", "sh", "/app/run.sh"]\n',
      ),
    },
    { path: "busybox", data: await readStaticBusybox(), mode: 0o755 },
    { path: "run.sh", data: await Deno.readFile(`${ROOT}tests/fixtures/image/run.sh`) },
  ]);
  await buildImage(docker, context, TEST_IMAGE);
}

async function readStaticBusybox(): Promise<Uint8Array> {
  const { code } = await new Deno.Command("ldd", {
    args: ["/bin/busybox"],
    stdout: "null",
    stderr: "null",
  }).output()
    .catch(() => ({ code: 1 }));
  const data = await Deno.readFile("/bin/busybox").catch(() => undefined);
  if (!data || code === 0) {
    throw new Error(
      "the Docker tests need a static /bin/busybox for their FROM scratch image: apt-get install busybox-static",
    );
  }
  return data;
}

/** Containers and networks labelled with `pipeline` that still exist (in the engine at `dockerHost`). */
export async function leftovers(
  pipeline: string,
  dockerHost?: string,
): Promise<{ containers: string[]; networks: string[] }> {
  using docker = await DockerClient.connect(dockerHost);
  const containers = await docker.listContainers("dev.flowctl.pipeline", pipeline);
  const networks = await docker.listNetworks("dev.flowctl.pipeline", pipeline);
  return {
    containers: containers.map((c) => c.Names.join(",")),
    networks: networks.map((n) => n.Name),
  };
}

/** A component of the test image in pipeline YAML, with `env` and extra lines. */
export function imageComponent(
  id: string,
  env: Record<string, string | number>,
  extra = "",
): string {
  const envText = Object.entries(env).map(([k, v]) => `${k}: "${v}"`).join(", ");
  return `    - id: ${id}\n      image: ${TEST_IMAGE}\n      pull_policy: never\n      env: { ${envText} }\n${extra}`;
}

/** Writes a container-mode pipeline under a fresh name; returns it with `flowctl run` arguments. */
export async function containerPipeline(prefix: string, body: string) {
  const name = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  const temp = await tempDir(`flowctl-${prefix}-`);
  const dir = temp.path;
  const file = await writeTemp(
    "pipeline.yaml",
    pipelineYaml(name, `  driver: container\n${body}`),
    dir,
  );
  return {
    name,
    file,
    dir,
    args: runArgs(file, `${dir}/logs`),
    /** Removes the pipeline's folder. */
    [Symbol.asyncDispose]: () => temp[Symbol.asyncDispose](),
  };
}

/** Removes image `reference` from the local engine when disposed (images a test made it pull). */
export function imageRemovedAtEnd(reference: string): AsyncDisposable {
  return {
    async [Symbol.asyncDispose]() {
      using docker = await DockerClient.connect();
      await docker.call("DELETE", `/images/${reference}?force=true`, { accept: [404] });
    },
  };
}
