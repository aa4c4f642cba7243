/**
 * A cold pull of a 50 MB component (one layer of random, incompressible bytes) from a registry on
 * loopback: `flowctl pull` into an empty cache against `docker pull` of the same image from the
 * same registry into the shared engine, side by side, alternating, medians of BENCH_RUNS (3).
 * The engine's copy is removed after each pull (and at the end). Target: flowctl at ≥ 0.8× the
 * speed of docker pull.
 */
import { flowctlArgs, median, report } from "./_bench.ts";
import { layer, LocalRegistry, registryWorkspace } from "../tests/_registry.ts";

const SIZE = 50 * 1024 * 1024;
const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? 3);

await using registry = await LocalRegistry.start();
await using ws = await registryWorkspace();
const random = new Uint8Array(SIZE);
for (let offset = 0; offset < SIZE; offset += 65536) {
  crypto.getRandomValues(random.subarray(offset, offset + 65536));
}
const big = await layer([
  { path: "component", text: "#!/bin/sh\necho big\n", mode: 0o755 },
  { path: "data/random.bin", bytes: random },
]);
await registry.pushImage("flowctl-bench/big", [big], { tag: "v1" });
const image = `${registry.host}/flowctl-bench/big:v1`;
await Deno.writeTextFile(
  `${ws.dir}/pipeline.yaml`,
  `apiVersion: flowctl/v1\nkind: Pipeline\nmetadata: { name: bench-pull }\nspec:\n  sources:\n    - id: big\n      type: ${registry.host}/flowctl-bench/big@v1\n`,
);

async function run(command: string, args: string[], env: Record<string, string> = {}) {
  const start = performance.now();
  const { code, stderr } = await new Deno.Command(command, {
    args,
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - start;
  if (code !== 0) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
  }
  return ms;
}

async function removeFromEngine(): Promise<void> {
  await new Deno.Command("docker", { args: ["rmi", "-f", image], stdout: "null", stderr: "null" })
    .output();
}

const flowctlMs: number[] = [];
const dockerMs: number[] = [];
try {
  await removeFromEngine();
  for (let i = 0; i < RUNS; i++) {
    const cache = `${ws.dir}/cache-${i}`;
    flowctlMs.push(
      await run(Deno.execPath(), flowctlArgs("pull", `${ws.dir}/pipeline.yaml`), {
        ...ws.env,
        XDG_CACHE_HOME: cache,
      }),
    );
    await Deno.remove(cache, { recursive: true });
    dockerMs.push(await run("docker", ["pull", "-q", image]));
    await removeFromEngine();
  }
} finally {
  await removeFromEngine();
}

const mb = big.bytes.length / 1e6;
const flowctl = median(flowctlMs);
const docker = median(dockerMs);
report("registry_pull (50 MB random layer, cold)", {
  flowctl_ms: flowctl.toFixed(0),
  flowctl_MBps: (mb / (flowctl / 1000)).toFixed(1),
  docker_pull_ms: docker.toFixed(0),
  docker_MBps: (mb / (docker / 1000)).toFixed(1),
  speed_ratio: (docker / flowctl).toFixed(2),
  target: "≥ 0.8",
  runs: flowctlMs.map((f, i) => `${f.toFixed(0)}/${dockerMs[i]?.toFixed(0)}`).join(","),
});
