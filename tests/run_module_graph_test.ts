/**
 * `flowctl run` itself loads no gRPC code: node:http2, Connect and the generated protobuf stack
 * live in the control plane process alone, so a crash there cannot take the orchestrator down and
 * flowctl starts its components without paying for loading them.
 */
import { assertEquals } from "./assert.ts";
import { ROOT } from "./_helpers.ts";

/**
 * Every module specifier (and node built-in) that `entry` loads, statically or dynamically: the
 * code imports `deno run` follows, not type-only ones (`typeof import(...)`), which it skips.
 */
async function moduleGraph(entry: string): Promise<string[]> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  const graph: {
    roots: string[];
    modules: { specifier: string; dependencies?: { code?: { specifier: string } }[] }[];
  } = JSON.parse(new TextDecoder().decode(stdout));
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  const loaded = new Set<string>();
  const pending = [...graph.roots];
  while (pending.length > 0) {
    const specifier = pending.pop()!;
    if (loaded.has(specifier)) continue;
    loaded.add(specifier);
    for (const dependency of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (dependency.code) pending.push(dependency.code.specifier);
    }
  }
  return [...loaded];
}

const GRPC_STACK = /^node:http2$|@connectrpc|@bufbuild|\/controlplane\/gen\//;

Deno.test("flowctl run loads no node:http2, Connect or generated protobuf code", async () => {
  const loaded = await moduleGraph("src/cli/run.ts");
  assertEquals(loaded.filter((m) => GRPC_STACK.test(m)), []);
  // The check can see them: the control plane process does load them.
  const child = await moduleGraph("src/cli/control_plane_child.ts");
  assertEquals(child.some((m) => m === "node:http2"), true);
  assertEquals(child.some((m) => m.includes("@connectrpc")), true);
});

Deno.test("flowctl run reaches the YAML parser only through the cache of parsed files", async () => {
  const loaded = await moduleGraph("src/cli/run.ts");
  // A file read before needs no parser; the first read imports it on use (src/cli/_yaml_cache.ts).
  assertEquals(loaded.filter((m) => /^npm:\/?yaml@/.test(m)), []);
  const validate = await moduleGraph("src/config/parse_pipeline_text.ts");
  assertEquals(validate.some((m) => /^npm:\/?yaml@/.test(m)), true);
});

/**
 * Node's `process` object is built on first use, and building it boots Deno's Node compatibility
 * layer: about 17 ms. node:path's `resolve` and `relative` use it for the current folder, so the
 * code of `run` resolves paths with src/absolute_path.ts and never names `process`.
 */
const BOOTS_NODE_PROCESS = [
  /import\s*\{[^}]*\b(resolve|relative)\b[^}]*\}\s*from\s*"node:(path|process)"/,
  /from\s*"node:process"/,
  /(?<![.\w])process\.(env|cwd|argv|exit|on|platform|pid)\b/,
];

Deno.test("flowctl run's own code never builds Node's process object", async () => {
  const local = (await moduleGraph("src/cli/run.ts")).filter((m) =>
    m.startsWith("file://") && !m.includes("/gen/") && !m.endsWith("/src/absolute_path.ts")
  );
  const offending = local.flatMap((url) => {
    const text = Deno.readTextFileSync(new URL(url));
    return BOOTS_NODE_PROCESS.some((pattern) => pattern.test(text)) ? [url] : [];
  });
  assertEquals(offending, []);
  // The check can see one: the helper itself imports node:path's resolve (with an absolute root).
  const helper = Deno.readTextFileSync(new URL("../src/absolute_path.ts", import.meta.url));
  assertEquals(BOOTS_NODE_PROCESS[0]!.test(helper), true);
});
