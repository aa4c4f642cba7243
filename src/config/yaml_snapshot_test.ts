import { assert, assertEquals } from "../../tests/assert.ts";
import type { PathSegment, YamlSource } from "./yaml_path.ts";
import { sourceFromSnapshot, YamlSnapshotSchema } from "./yaml_snapshot.ts";
import { parseYamlSource } from "./yaml_source.ts";
import * as v from "valibot";

/** The pipeline files of the repository, and documents that probe what a snapshot must keep. */
async function documents(): Promise<[string, string][]> {
  const root = new URL("../../", import.meta.url);
  const found: [string, string][] = [];
  for (const dir of ["examples", "tests/fixtures/upstream"]) {
    for await (const entry of Deno.readDir(new URL(dir, root))) {
      if (!entry.name.endsWith(".yaml")) continue;
      found.push([entry.name, await Deno.readTextFile(new URL(`${dir}/${entry.name}`, root))]);
    }
  }
  assert(found.length >= 5, `found only ${found.length} pipeline files`);
  return [
    ...found,
    ["numbers", "a: 0.50\nb: 1e3\nc: 0x1F\nd: 0o17\nf: 007\ng: '0.50'\nh: True\ni: ~\n"],
    [
      "keys",
      "5: five\n'5': text five\ntrue: yes\nnull: nothing\n1.5: x\nlist:\n  - 1\n  -\n  - [a, {b: 2}]\n",
    ],
    ["empty values", "a:\nb: {}\nc: []\nd:\n  e:\n"],
    ["block", "text: |\n  line one\n  line two\nfolded: >-\n  a\n  b\nn: 12 # comment\n"],
    ["flow", "{spec: {sources: [{id: s, config: {n: 0.10, m: [1, 2.50]}}]}}\n"],
  ];
}

/** Every path in `data` (and one missing key under each map), the way the parser reports them. */
function pathsOf(data: unknown, prefix: PathSegment[] = []): PathSegment[][] {
  const paths: PathSegment[][] = [prefix];
  if (Array.isArray(data)) {
    data.forEach((item, i) => paths.push(...pathsOf(item, [...prefix, i])));
    paths.push([...prefix, data.length], [...prefix, String(0)]);
  } else if (data && typeof data === "object") {
    for (const [key, value] of Object.entries(data)) {
      paths.push(...pathsOf(value, [...prefix, key]));
      if (/^\d+$/.test(key)) paths.push(...pathsOf(value, [...prefix, Number(key)]));
    }
    paths.push([...prefix, "missing"], [...prefix, "missing", "deeper"]);
  }
  return paths;
}

function answers(source: YamlSource, paths: PathSegment[][]) {
  return paths.map((path) => ({
    path,
    value: source.locate(path),
    key: source.locate(path, true),
    text: source.scalarText(path),
  }));
}

Deno.test("a snapshot answers every path as the parsed document does", async () => {
  for (const [name, text] of await documents()) {
    const parsed = parseYamlSource(text);
    const snapshot = parsed.snapshot();
    assert(snapshot, `${name}: no snapshot`);
    // As the cache keeps it: JSON, read back through the schema.
    const stored = v.parse(YamlSnapshotSchema, JSON.parse(JSON.stringify(snapshot)));
    const restored = sourceFromSnapshot(stored);
    assertEquals(restored.toJS(), parsed.toJS(), name);
    const paths = pathsOf(parsed.toJS());
    assertEquals(answers(restored, paths), answers(parsed, paths), name);
  }
});

Deno.test("the numbers of a snapshot keep their text as written", () => {
  const source = sourceFromSnapshot(parseYamlSource("a: 0.50\nb: [1e3]\nc: text\n").snapshot()!);
  assertEquals(source.scalarText(["a"]), "0.50");
  assertEquals(source.scalarText(["b", 0]), "1e3");
  assertEquals(source.scalarText(["b", "0"]), "1e3");
  assertEquals(source.scalarText(["c"]), undefined);
  assertEquals(source.locate(["b", 0]), { line: 2, column: 5 });
});

Deno.test("documents a snapshot cannot keep exactly have none", () => {
  for (
    const text of [
      "a: &x {b: 1}\nc: *x\n", // aliases
      "a: .inf\n", // not JSON
      "a: -0\n", // JSON reads it back as 0
      "__proto__: {a: 1}\n",
      "a: [\n", // a syntax error
      "a: 1\na: 2\n", // duplicate keys
    ]
  ) {
    assertEquals(parseYamlSource(text).snapshot(), undefined, text);
  }
});
