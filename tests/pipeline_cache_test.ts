/**
 * The cache of parsed pipeline files (src/cli/_yaml_cache.ts): a file read before gives the same
 * answers from the cache, a damaged entry or a folder that is not the user's own is passed over,
 * and nothing is written where flowctl must not write.
 */
import { assert, assertEquals } from "./assert.ts";
import { ExitCode } from "../src/cli/exit_code.ts";
import { FIXTURE_COMMAND, pipelineYaml, runFlowctl, tempDir, writeTemp } from "./_helpers.ts";

// A warning (a processor without inputs) shows that positions survive the cache as well.
const PIPELINE = pipelineYaml(
  "cached",
  `  processors:\n    - id: lonely\n      command: ${FIXTURE_COMMAND}\n      config: { rate: 0.50 }\n`,
);

async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${dir}/flowctl/pipelines`)) names.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.filter((name) => name.endsWith(".json"));
}

async function validate(file: string, cache: string) {
  const result = await runFlowctl(["validate", file, "--output", "json"], {
    env: { XDG_CACHE_HOME: cache },
  });
  assertEquals(result.code, ExitCode.ok, result.stderr);
  const { warnings } = JSON.parse(result.stdout) as { warnings: { line: number }[] };
  assert(warnings.length === 1 && warnings[0]!.line > 1, result.stdout);
  return { stdout: result.stdout, stderr: result.stderr };
}

Deno.test("a pipeline file read again comes from the cache with the same answers", async () => {
  await using dir = await tempDir();
  const file = await writeTemp("pipeline.yaml", PIPELINE, dir.path);
  const cache = `${dir.path}/cache`;
  const first = await validate(file, cache);
  const [entry] = await entries(cache);
  assert(entry, "no cache entry was written");
  const stat = await Deno.stat(`${cache}/flowctl/pipelines/${entry}`);
  assertEquals((stat.mode ?? 0) & 0o777, 0o600);
  assertEquals(await validate(file, cache), first);

  // The second run read the entry: one changed behind flowctl's back shows through.
  const path = `${cache}/flowctl/pipelines/${entry}`;
  await Deno.writeTextFile(path, (await Deno.readTextFile(path)).replace('"cached"', '"changed"'));
  assert((await validate(file, cache)).stdout.includes('"pipeline":"changed"'));

  // A damaged entry is parsed again (and replaced); the answers stay the same.
  await Deno.writeTextFile(`${cache}/flowctl/pipelines/${entry}`, '{"data": 1}');
  assertEquals(await validate(file, cache), first);
  const repaired = await Deno.readTextFile(`${cache}/flowctl/pipelines/${entry}`);
  assert(repaired.includes('"places"'), repaired.slice(0, 200));

  // An edited file is a new entry.
  await Deno.writeTextFile(file, PIPELINE.replace("0.50", "0.75"));
  await validate(file, cache);
  assertEquals((await entries(cache)).length, 2);
});

Deno.test("a cache folder others can write to is not used, and the file still validates", async () => {
  await using dir = await tempDir();
  const file = await writeTemp("pipeline.yaml", PIPELINE, dir.path);
  const cache = `${dir.path}/cache`;
  await Deno.mkdir(`${cache}/flowctl/pipelines`, { recursive: true });
  await Deno.chmod(`${cache}/flowctl/pipelines`, 0o777);
  const planted = `${cache}/flowctl/pipelines/planted.json`;
  await Deno.writeTextFile(planted, "{}");
  await validate(file, cache);
  assertEquals(await entries(cache), ["planted.json"]);
});
