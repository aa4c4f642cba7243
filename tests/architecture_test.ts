/**
 * The house rules of STYLE.md, checked: higher floors of `src/` import lower ones, never the
 * other way (cli → ui → runner → admin/recovery → state → orchestrator → controlplane, logs →
 * config → registry, docker, health → proc, graph), folders on one floor do not import each
 * other, no file of `src/` outside `gen/` is over 400 lines, and the orchestrator kind is compared
 * outside `orchestrator/` and `config/` in at most three places (the rest ask
 * `orchestrator/select.ts`).
 */
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "./assert.ts";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));
const MAX_LINES = 400;

/** Each top folder of `src/` and its floor; files directly in `src/` are the ground (0). */
const FLOORS: Readonly<Record<string, number>> = {
  cli: 9,
  // The dashboard sits between the commands and the run it shows.
  ui: 8.5,
  runner: 8,
  admin: 7,
  recovery: 7,
  state: 6,
  orchestrator: 5,
  // The data path (flowctl-sdk v1 calls) beside the orchestrators: the runner and the CLI use it,
  // it uses the wire types and the pipeline model.
  datapath: 5,
  controlplane: 4,
  logs: 4,
  config: 3,
  registry: 2,
  docker: 2,
  health: 2,
  proc: 1,
  graph: 1,
  // The trust rules of SECURITY.md (owned folders, safe files, input files, private sockets):
  // every floor that touches the disk relies on them.
  trust: 1,
  // The SDK that components import stands apart, above everything: it may use the wire types
  // and durations, and nothing of flowctl imports it.
  sdk: 10,
};

/** Source files of `src/` (tests included), without generated code. */
function sourceFiles(dir = SRC): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && entry.name !== "gen") files.push(...sourceFiles(path));
    else if (entry.isFile && entry.name.endsWith(".ts")) files.push(path);
  }
  return files.sort();
}

/** The top folder of a path in `src/`, or "" for a file directly in it. */
function folderOf(path: string): string {
  const parts = relative(SRC, path).split("/");
  return parts.length > 1 ? parts[0] ?? "" : "";
}

function floorOf(folder: string): number {
  return folder === "" ? 0 : FLOORS[folder] ?? Number.NaN;
}

/** Relative specifiers of static imports, re-exports and dynamic imports in `text`. */
function importsOf(text: string): string[] {
  const found: string[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)"(\.{1,2}\/[^"]+)"/gm;
  for (const match of text.matchAll(pattern)) found.push(match[1] ?? "");
  return found;
}

/** Every import that breaks the floors, as `from -> to`. */
export function upwardImports(files: readonly string[]): string[] {
  const broken: string[] = [];
  for (const file of files) {
    const from = folderOf(file);
    for (const specifier of importsOf(Deno.readTextFileSync(file))) {
      const target = resolve(dirname(file), specifier);
      if (!target.startsWith(SRC)) continue; // tests' helpers, imported by unit tests
      const to = folderOf(target);
      if (to === from) continue;
      const [fromFloor, toFloor] = [floorOf(from), floorOf(to)];
      if (!(toFloor < fromFloor)) {
        broken.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
      }
    }
  }
  return broken;
}

Deno.test("every folder of src/ has a floor", () => {
  const folders = new Set(sourceFiles().map(folderOf).filter((folder) => folder !== ""));
  assertEquals([...folders].filter((folder) => !(folder in FLOORS)), []);
});

Deno.test("no import of src/ runs up the floors or across one floor", () => {
  assertEquals(upwardImports(sourceFiles()), []);
});

Deno.test("the floor check sees an import that runs up", async () => {
  const dir = await Deno.makeTempDir({ dir: join(SRC, "proc"), prefix: "architecture-" });
  try {
    const file = join(dir, "upward.ts");
    await Deno.writeTextFile(
      file,
      'import { runSession } from "../../runner/run_session.ts";\n' +
        'const cli = await import("../../cli/cli.ts");\n',
    );
    assertEquals(upwardImports([file]), [
      `${relative(SRC, file)} -> runner/run_session.ts`,
      `${relative(SRC, file)} -> cli/cli.ts`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(`no file of src/ outside gen/ is over ${MAX_LINES} lines`, () => {
  const long = sourceFiles()
    .map((file) => ({ file, lines: Deno.readTextFileSync(file).split("\n").length - 1 }))
    .filter(({ lines }) => lines > MAX_LINES)
    .map(({ file, lines }) => `${relative(SRC, file)}: ${lines} lines`);
  assertEquals(long, []);
});

Deno.test("the orchestrator kind is compared outside orchestrator/ and config/ at most three times", () => {
  const comparison =
    /[!=]==\s*"(?:process|container|swarm)"|"(?:process|container|swarm)"\s*[!=]==/g;
  const found = sourceFiles()
    .filter((file) => !["orchestrator", "config"].includes(folderOf(file)))
    .filter((file) => !file.endsWith("_test.ts"))
    .flatMap((file) =>
      [...Deno.readTextFileSync(file).matchAll(comparison)].map(() => relative(SRC, file))
    );
  assert(found.length <= 3, `the kind is compared in: ${found.join(", ")}`);
});
