/**
 * Pipeline documents parsed by earlier runs, kept by the SHA-256 of their text in
 * `$XDG_CACHE_HOME/flowctl/pipelines` (else `~/.cache/flowctl/pipelines`): a file flowctl has
 * read before is read without loading the YAML parser, a quarter of `flowctl run`'s start (see
 * config/yaml_snapshot.ts). The cache is only ever a shortcut: when it cannot be used (no home,
 * a folder that is not the user's own, an entry that does not read back) the file is parsed.
 */
import { getLogger } from "@logtape/logtape";
import * as v from "valibot";
import type { YamlSource } from "../config/yaml_path.ts";
import {
  sourceFromSnapshot,
  type YamlSnapshot,
  YamlSnapshotSchema,
} from "../config/yaml_snapshot.ts";
import { loadLater } from "../load_later.ts";
import { ensureOwnedDir, ownedDirExists } from "../trust/owned_dir.ts";
import { readOwnedFile, writeFileAtomically } from "../trust/safe_file.ts";
import { CACHE_DIR_FIX, cacheDir } from "../trust/user_home.ts";
import { VERSION } from "./version.ts";

const logger = getLogger(["flowctl", "config"]);

/** Entries kept; the oldest go first. */
const KEEP_ENTRIES = 64;
/** A snapshot is bigger than its text (a position per node); files are at most 1 MiB. */
const MAX_ENTRY_BYTES = 32 * 1024 * 1024;

/** The document in `text`, from the cache when an earlier run parsed the same text. */
export async function readPipelineYaml(text: string): Promise<YamlSource> {
  const entry = await cacheEntry(text).catch((error) => skipCache(error));
  const cached = entry && await readEntry(entry.path).catch((error) => skipCache(error));
  if (cached) return sourceFromSnapshot(cached);
  const { parseYamlSource } = await loadLater<typeof import("../config/yaml_source.ts")>(
    new URL("../config/yaml_source.ts", import.meta.url),
  );
  const parsed = parseYamlSource(text);
  const snapshot = entry && parsed.snapshot();
  if (entry && snapshot) await keep(entry, snapshot).catch((error) => skipCache(error));
  return parsed;
}

interface CacheEntry {
  dir: string;
  path: string;
}

async function cacheEntry(text: string): Promise<CacheEntry> {
  const dir = `${cacheDir()}/pipelines`;
  // A new flowctl (and the YAML parser it pins) may read the same text differently.
  const bytes = new TextEncoder().encode(`flowctl ${VERSION}\0${text}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const hex = Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return { dir, path: `${dir}/${hex}.json` };
}

async function readEntry(path: string): Promise<YamlSnapshot | undefined> {
  const dir = path.slice(0, path.lastIndexOf("/"));
  if (!ownedDirExists(dir, CACHE_DIR_FIX)) return undefined;
  const bytes = await readOwnedFile(path, MAX_ENTRY_BYTES, CACHE_DIR_FIX);
  if (!bytes) return undefined;
  const parsed = v.safeParse(YamlSnapshotSchema, JSON.parse(new TextDecoder().decode(bytes)));
  return parsed.success ? parsed.output : undefined;
}

async function keep(entry: CacheEntry, snapshot: YamlSnapshot): Promise<void> {
  await ensureOwnedDir(entry.dir, CACHE_DIR_FIX);
  await writeFileAtomically(entry.path, JSON.stringify(snapshot));
  const entries: { path: string; mtime: number }[] = [];
  for await (const file of Deno.readDir(entry.dir)) {
    if (!file.isFile || !file.name.endsWith(".json")) continue;
    const path = `${entry.dir}/${file.name}`;
    const info = await Deno.lstat(path).catch(() => undefined);
    entries.push({ path, mtime: info?.mtime?.getTime() ?? 0 });
  }
  entries.sort((a, b) => b.mtime - a.mtime);
  for (const old of entries.slice(KEEP_ENTRIES)) await Deno.remove(old.path).catch(() => {});
}

function skipCache(error: unknown): undefined {
  logger.debug("Not using the pipeline cache: {reason}", {
    reason: error instanceof Error ? error.message : String(error),
  });
  return undefined;
}
