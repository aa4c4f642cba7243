/**
 * What process mode runs from an image: the executable of a registry component (/component,
 * /bin/component, /app/component) or of an `image` (/app/<name>, /bin/, /usr/bin/,
 * /usr/local/bin/, /<name>), and the component's optional `metadata.json`.
 */
import * as v from "valibot";
import { resolveInRoot } from "./layer_apply.ts";
import { cachedImage, type PulledImage, pullImage, type PullOptions } from "./pull_image.ts";
import { RegistryError } from "./registry_error.ts";

/**
 * Process mode without `command`: the executable comes from an image pulled by flowctl
 * (src/registry): a registry component's (`type: name@version`) or an `image`'s.
 */
export interface ImageExecutable {
  /** Full reference: `registry/repository:tag` or `registry/repository@sha256:…`. */
  reference: string;
  /**
   * `component`: a registry component, its executable at /component, /bin/component or
   * /app/component; `binary`: an `image`'s executable named `name`, in /app, /bin, /usr/bin,
   * /usr/local/bin or /.
   */
  kind: "component" | "binary";
  name: string;
}

const typeList = v.optional(v.array(v.string()));

/** `metadata.json` of a registry component; keys flowctl does not use are allowed. */
export const ComponentMetadataSchema = v.looseObject({
  name: v.optional(v.string()),
  version: v.optional(v.string()),
  type: v.optional(v.string()),
  produces: typeList,
  consumes: typeList,
  output_types: typeList,
  input_types: typeList,
  env_mapping: v.optional(v.record(v.string(), v.string())),
  config_schema: v.optional(
    v.record(v.string(), v.looseObject({ env: v.optional(v.string()) })),
  ),
});

/** The metadata of a component image, as flowctl uses it. */
export interface ComponentMetadata {
  name?: string;
  version?: string;
  type?: string;
  /** Event types it produces and consumes (`produces`/`consumes` or `output_types`/`input_types`). */
  produces: string[];
  consumes: string[];
  envMapping?: Record<string, string>;
  configSchema?: Record<string, { env?: string }>;
}

/** An image's executable, ready to run. */
export interface ImageProgram {
  image: PulledImage;
  /** Absolute path of the executable inside the cached root. */
  executable: string;
  metadata?: ComponentMetadata;
}

/** Where the executable may be, relative to the image root, in the order they are tried. */
export function executableCandidates(target: ImageExecutable): string[] {
  if (target.kind === "component") return ["component", "bin/component", "app/component"];
  const name = target.name;
  return [`app/${name}`, `bin/${name}`, `usr/bin/${name}`, `usr/local/bin/${name}`, name];
}

/**
 * The executable (and metadata) of `target`, pulling its image unless cached.
 * @throws {RegistryError} when the image cannot be pulled or holds no such executable.
 */
export async function resolveImageProgram(
  target: ImageExecutable,
  options: PullOptions = {},
): Promise<ImageProgram> {
  return await programOf(target, await pullImage(target.reference, options));
}

/** Like `resolveImageProgram`, from the cache only (no network); undefined when not cached. */
export async function cachedImageProgram(
  target: ImageExecutable,
): Promise<ImageProgram | undefined> {
  const image = await cachedImage(target.reference);
  return image ? await programOf(target, image) : undefined;
}

async function programOf(target: ImageExecutable, image: PulledImage): Promise<ImageProgram> {
  const candidates = executableCandidates(target);
  let executable: string | undefined;
  for (const candidate of candidates) {
    const path = await resolveInRoot(image.root, candidate);
    if (path && await isExecutableFile(path)) {
      executable = path;
      break;
    }
  }
  if (!executable) {
    throw new RegistryError(
      target.reference,
      `no executable at ${candidates.map((c) => `/${c}`).join(", ")}`,
    );
  }
  const metadata = await readMetadata(image.root, target.reference);
  return { image, executable, ...(metadata ? { metadata } : {}) };
}

async function readMetadata(
  root: string,
  reference: string,
): Promise<ComponentMetadata | undefined> {
  for (const candidate of ["metadata.json", "app/metadata.json"]) {
    const path = await resolveInRoot(root, candidate);
    if (!path) continue;
    let data: unknown;
    try {
      data = JSON.parse(await Deno.readTextFile(path));
    } catch (error) {
      throw new RegistryError(reference, `/${candidate} is not JSON: ${(error as Error).message}`);
    }
    const parsed = v.safeParse(ComponentMetadataSchema, data);
    if (!parsed.success) {
      const issue = parsed.issues[0];
      const where = issue.path?.map((p) => String(p.key)).join(".") ?? "";
      throw new RegistryError(
        reference,
        `/${candidate}: ${where ? `${where}: ` : ""}${issue.message}`,
      );
    }
    const m = parsed.output;
    return {
      ...(m.name !== undefined ? { name: m.name } : {}),
      ...(m.version !== undefined ? { version: m.version } : {}),
      ...(m.type !== undefined ? { type: m.type } : {}),
      produces: m.produces ?? m.output_types ?? [],
      consumes: m.consumes ?? m.input_types ?? [],
      ...(m.env_mapping ? { envMapping: m.env_mapping } : {}),
      ...(m.config_schema
        ? {
          configSchema: Object.fromEntries(
            Object.entries(m.config_schema).map((
              [key, entry],
            ) => [key, entry.env !== undefined ? { env: entry.env } : {}]),
          ),
        }
        : {}),
    };
  }
  return undefined;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}
