/**
 * What an already cached registry component adds to startup: the time to "Pipeline started
 * successfully" of N registry components (each its own image, pulled beforehand), against N
 * command components running the same script, alternating, medians of BENCH_RUNS (5). Also the
 * in-process time of resolving one cached component. Target: ≤ 5 ms per component.
 */
import { median, report, startFlowctl } from "./_bench.ts";
import { layer, LocalRegistry, registryWorkspace } from "../tests/_registry.ts";

const COUNT = Number(Deno.env.get("BENCH_COMPONENTS") ?? 20);
const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? 5);
const SCRIPT = "#!/bin/sh\nexec sleep 600\n";

await using registry = await LocalRegistry.start();
await using ws = await registryWorkspace();
// DENO_DIR stays as it is; the flowctl cache lives in the workspace.
for (const [key, value] of Object.entries(ws.env)) Deno.env.set(key, value);
await Deno.writeTextFile(`${ws.dir}/component.sh`, SCRIPT, { mode: 0o755 });

const ids = Array.from({ length: COUNT }, (_, i) => `c${i}`);
for (const id of ids) {
  await registry.pushImage(`flowctl-bench/${id}`, [
    await layer([{ path: "component", text: `${SCRIPT}# ${id}\n`, mode: 0o755 }]),
  ], { tag: "v1" });
}
const pipeline = (name: string, body: (id: string) => string) =>
  `apiVersion: flowctl/v1\nkind: Pipeline\nmetadata: { name: ${name} }\nspec:\n  sources:\n` +
  ids.map((id) => `    - id: ${id}\n      ${body(id)}\n`).join("");
const registryFile = `${ws.dir}/registry.yaml`;
const commandFile = `${ws.dir}/command.yaml`;
await Deno.writeTextFile(
  registryFile,
  pipeline("bench-registry", (id) => `type: ${registry.host}/flowctl-bench/${id}@v1`),
);
await Deno.writeTextFile(
  commandFile,
  pipeline("bench-command", () => `command: [${ws.dir}/component.sh]`),
);

const pull = await new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", "--quiet", `${import.meta.dirname}/../main.ts`, "pull", registryFile],
  stdout: "null",
}).output();
if (pull.code !== 0) throw new Error("flowctl pull failed");
await registry.stop(); // from here on, the cache alone

async function startupMs(file: string): Promise<number> {
  const { ms, child } = await startFlowctl(file, `${ws.dir}/logs`);
  child.kill("SIGINT");
  await child.status;
  return ms;
}

const registryMs: number[] = [];
const commandMs: number[] = [];
await startupMs(commandFile); // warm-up
for (let i = 0; i < RUNS; i++) {
  registryMs.push(await startupMs(registryFile));
  commandMs.push(await startupMs(commandFile));
}

// The resolution alone, in this process: module load once, then per component.
const loadStart = performance.now();
const { cachedImageProgram } = await import("../src/registry/component_image.ts");
const loadMs = performance.now() - loadStart;
const resolveStart = performance.now();
for (const id of ids) {
  const program = await cachedImageProgram({
    reference: `${registry.host}/flowctl-bench/${id}:v1`,
    kind: "component",
    name: "component",
  });
  if (!program) throw new Error(`${id} is not cached`);
}
const perResolveMs = (performance.now() - resolveStart) / COUNT;

const withRegistry = median(registryMs);
const withCommands = median(commandMs);
report(`registry_cache (${COUNT} cached registry components vs ${COUNT} commands)`, {
  registry_start_ms: withRegistry.toFixed(0),
  command_start_ms: withCommands.toFixed(0),
  ratio: (withRegistry / withCommands).toFixed(2),
  added_per_component_ms: ((withRegistry - withCommands) / COUNT).toFixed(2),
  resolve_one_in_process_ms: perResolveMs.toFixed(2),
  registry_module_load_ms: loadMs.toFixed(1),
  target: "≤ 5 ms per component",
});
