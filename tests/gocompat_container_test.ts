/**
 * Keys of the Go flowctl in container mode, against the real engine: volumes, secrets,
 * resources, replicas, metadata labels and args, checked through the Engine API.
 */
import { ExitCode } from "../src/cli/exit_code.ts";
import { DockerClient } from "../src/docker/docker_client.ts";
import { LABEL_PIPELINE, LABEL_REPLICA } from "../src/docker/labels.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { buildTestImage, imageComponent, leftovers, SKIP_DOCKER, TEST_IMAGE } from "./_docker.ts";
import { FlowctlProcess, runArgs, tempDir, uniqueName, writeTemp } from "./_helpers.ts";

if (!SKIP_DOCKER) await buildTestImage();

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, ignore: SKIP_DOCKER, fn });

const SECRET = "container-secret-never-shown";

interface Inspect {
  Name: string;
  Config: { Entrypoint: string[] | null; Cmd: string[] | null; Labels: Record<string, string> };
  Mounts: { Type: string; Name?: string; Source: string; Destination: string; RW: boolean }[];
  HostConfig: {
    Memory: number;
    NanoCpus: number;
    MemoryReservation: number;
    CpuShares: number;
  };
  NetworkSettings: { Networks: Record<string, { Aliases: string[] | null }> };
}

async function inspect(docker: DockerClient, id: string): Promise<Inspect> {
  const response = await docker.request("GET", `/containers/${id}/json`);
  return await response.json() as Inspect;
}

/** A volume that exists before the run (created now), removed when disposed. */
async function volumeKeptByTheRun(docker: DockerClient, name: string): Promise<AsyncDisposable> {
  await docker.call("POST", "/volumes/create", { json: { Name: name } });
  return {
    async [Symbol.asyncDispose]() {
      await docker.call("DELETE", `/volumes/${name}`, { accept: [404] });
    },
  };
}

async function volumeExists(docker: DockerClient, name: string): Promise<boolean> {
  const response = await docker.request("GET", `/volumes/${name}`, { accept: [404] });
  await response.body?.cancel();
  return response.status === 200;
}

test("container mode: volumes, secrets, resources, replicas, labels and args reach the engine; the run's volume goes with it", async () => {
  const unique = crypto.randomUUID().slice(0, 8);
  const runVolume = `gocompat-cache-${unique}`;
  const keptVolume = `gocompat-keep-${unique}`;
  using docker = await DockerClient.connect();
  // Disposed after flowctl (declared before it): a run still going keeps the volume in use.
  await using _keptVolume = await volumeKeptByTheRun(docker, keptVolume);
  await using dir = await tempDir("flowctl-gocompat-");
  // The file as the Go flowctl's users write it: values as written (0042), `$$` escapes.
  const name = uniqueName("gocompat");
  const file = await writeTemp(
    "pipeline.yaml",
    `apiVersion: flowctl/v1
kind: Pipeline
metadata:
  name: ${name}
  labels: { team: data }
spec:
  driver: container
  sources:
    - id: src
      image: ${TEST_IMAGE}
      pull_policy: never
      command: [/bin/busybox, sh, -c]
      args: |
        /bin/busybox cat /data/hello.txt
        echo "secret bytes: $$(/bin/busybox cat $$TOKEN_FILE | /bin/busybox wc -c)"
        echo "START_LEDGER=$$START_LEDGER"
        exec /bin/busybox sh /app/run.sh
      config: { startLedger: 0042 }
      volumes:
        - { name: data, host_path: ./data, container_path: /data, readonly: true }
        - { name: ${runVolume}, mountPath: /cache }
        - { name: ${keptVolume}, mountPath: /keep }
      secrets:
        - { name: token, host_path: ./keys/token, env: TOKEN_FILE, required: true }
      resources:
        requests: { cpu: 250m, memory: 32Mi }
        limits: { cpu: 500m, memory: 64Mi }
  processors:
` +
      imageComponent(
        "workers",
        { PRINT_ENV: "FLOWCTL_REPLICA" },
        "      inputs: [src]\n      replicas: 2\n      ports: [{ name: grpc, containerPort: 9000 }]\n",
      ) +
      "  sinks:\n" +
      imageComponent(
        "sink",
        { PRINT_ENV: "W", W: "${components.workers.endpoint}" },
        "      inputs: [workers]\n",
      ),
    dir.path,
  );
  await Deno.mkdir(`${dir.path}/data`);
  await Deno.writeTextFile(`${dir.path}/data/hello.txt`, "hello from the bind mount\n");
  await Deno.mkdir(`${dir.path}/keys`);
  await Deno.writeTextFile(`${dir.path}/keys/token`, SECRET);

  await using flowctl = new FlowctlProcess(runArgs(file, `${dir.path}/logs`));
  await flowctl.waitForOutput("Pipeline started successfully", 60_000);
  await flowctl.waitForOutput("sink ready");

  const containers = await docker.listContainers(LABEL_PIPELINE, name);
  const byName = new Map(
    await Promise.all(containers.map(async (c) => {
      const info = await inspect(docker, c.Id);
      return [info.Name.slice(1), info] as const;
    })),
  );
  assertEquals([...byName.keys()].sort(), [
    `${name}-sink`,
    `${name}-src`,
    `${name}-workers-1`,
    `${name}-workers-2`,
  ]);
  const src = byName.get(`${name}-src`);
  assert(src);
  // args replace CMD, with command as the entrypoint.
  assertEquals(src.Config.Entrypoint, ["/bin/busybox", "sh", "-c"]);
  assertEquals(src.Config.Cmd?.length, 1);
  assertEquals(src.Config.Labels["team"], "data");
  assertEquals(src.Config.Labels[LABEL_PIPELINE], name);
  const mounts = src.Mounts.map((m) => `${m.Type} ${m.Name ?? m.Source} ${m.Destination} ${m.RW}`)
    .sort();
  assertEquals(mounts, [
    `bind ${dir.path}/data /data false`,
    `bind ${dir.path}/keys/token /run/secrets/token false`,
    `volume ${runVolume} /cache true`,
    `volume ${keptVolume} /keep true`,
  ]);
  assertEquals(src.HostConfig.Memory, 64 * 2 ** 20);
  assertEquals(src.HostConfig.NanoCpus, 500_000_000);
  assertEquals(src.HostConfig.MemoryReservation, 32 * 2 ** 20);
  assertEquals(src.HostConfig.CpuShares, 256);
  // Both replicas answer to the component's alias.
  for (const replica of [1, 2]) {
    const info = byName.get(`${name}-workers-${replica}`);
    assert(info);
    const aliases = Object.values(info.NetworkSettings.Networks)[0]?.Aliases ?? [];
    assert(aliases.includes("workers"), `replica ${replica} aliases: ${aliases}`);
    assertEquals(info.Config.Labels[LABEL_REPLICA], String(replica));
  }
  const volume = await (await docker.request("GET", `/volumes/${runVolume}`)).json() as {
    Labels: Record<string, string> | null;
  };
  assertEquals(volume.Labels?.[LABEL_PIPELINE], name);

  flowctl.kill("SIGINT");
  const result = await flowctl.result();
  assertEquals(result.code, ExitCode.ok, result.stderr);
  const out = result.stdout;
  assertStringIncludes(out, "| hello from the bind mount\n");
  assertStringIncludes(out, `| secret bytes: ${SECRET.length}\n`);
  assertStringIncludes(out, "| START_LEDGER=0042\n");
  assertStringIncludes(out, "workers | [1] FLOWCTL_REPLICA=1\n");
  assertStringIncludes(out, "workers | [2] FLOWCTL_REPLICA=2\n");
  assertStringIncludes(out, "| W=workers:9000\n");
  assert(!out.includes(SECRET) && !result.stderr.includes(SECRET));
  for (const entry of Deno.readDirSync(`${dir.path}/logs`)) {
    const log = await Deno.readTextFile(`${dir.path}/logs/${entry.name}`);
    assert(!log.includes(SECRET), `${entry.name} shows the secret`);
  }
  // Nothing of the run is left; the volume that existed before is kept.
  assertEquals(await leftovers(name), { containers: [], networks: [] });
  assertEquals(await volumeExists(docker, runVolume), false);
  assertEquals(await volumeExists(docker, keptVolume), true);
});
