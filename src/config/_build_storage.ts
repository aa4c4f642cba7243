/** Volumes and secret files of a component, as the "build components" step of `parsePipeline` checks them. */
import { isAbsolute, join, normalize, posix } from "node:path";
import type { IssueCollector } from "./_issues.ts";
import type { Expand } from "./interpolate.ts";
import { DEFAULT_SECRET_DIR, type SecretFile, type VolumeMount } from "./pipeline.ts";
import type { SecretSpec, VolumeSpec } from "./schema.ts";
import type { PathSegment } from "./yaml_path.ts";

/** A bind mount (`host_path`, relative to the pipeline file) or a named volume. */
export function buildVolume(
  volume: VolumeSpec,
  path: PathSegment[],
  dir: string,
  expand: Expand,
  issues: IssueCollector,
): VolumeMount | undefined {
  const target = volume.container_path ?? volume.mountPath;
  const readonly = volume.readonly ?? false;
  if (target === undefined) {
    issues.report(path, 'a volume needs "container_path" (or "mountPath")');
    return undefined;
  }
  const containerPath = expand(target, [
    ...path,
    volume.container_path !== undefined ? "container_path" : "mountPath",
  ]);
  if (!posix.isAbsolute(containerPath)) {
    issues.report(
      [...path, volume.container_path !== undefined ? "container_path" : "mountPath"],
      `the path in the container must be absolute, got "${containerPath}"`,
    );
  }
  if (volume.host_path !== undefined) {
    const hostPath = resolveDir(dir, expand(volume.host_path, [...path, "host_path"]));
    return { type: "bind", hostPath, containerPath, readonly };
  }
  if (volume.name === undefined) {
    issues.report(path, 'a volume needs "host_path" (a bind mount) or "name" (a named volume)');
    return undefined;
  }
  const name = expand(volume.name, [...path, "name"]);
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) {
    issues.report(
      [...path, "name"],
      `invalid volume name "${name}": use letters, digits, "_", "." and "-"`,
    );
  }
  return { type: "volume", name, containerPath, readonly };
}

export function buildSecret(
  secret: SecretSpec,
  path: PathSegment[],
  dir: string,
  expand: Expand,
  issues: IssueCollector,
): SecretFile {
  const hostPath = secret.host_path === undefined
    ? undefined
    : resolveDir(dir, expand(secret.host_path, [...path, "host_path"]));
  const containerPath = secret.container_path === undefined
    ? undefined
    : expand(secret.container_path, [...path, "container_path"]);
  if (containerPath !== undefined && !posix.isAbsolute(containerPath)) {
    issues.report(
      [...path, "container_path"],
      `the path in the container must be absolute, got "${containerPath}"`,
    );
  }
  if (secret.env !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(secret.env)) {
    issues.report([...path, "env"], `invalid variable name "${secret.env}"`);
  }
  if (hostPath === undefined && secret.required) {
    issues.report(path, `secret "${secret.name}" is required but has no "host_path"`);
  }
  const mode = typeof secret.mode === "string" ? parseInt(secret.mode, 8) : secret.mode;
  return {
    name: secret.name,
    ...(hostPath !== undefined ? { hostPath } : {}),
    containerPath: containerPath ?? `${DEFAULT_SECRET_DIR}/${secret.name}`,
    ...(secret.env !== undefined ? { env: secret.env } : {}),
    ...(mode !== undefined ? { mode } : {}),
    ...(secret.type !== undefined ? { type: secret.type } : {}),
    required: secret.required ?? false,
    labels: secret.labels ?? {},
  };
}

/** `dir` against `base` when relative, normalized. */
export function resolveDir(base: string, dir: string): string {
  return normalize(isAbsolute(dir) ? dir : join(base, dir));
}
