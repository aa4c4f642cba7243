/**
 * Host files a pipeline hands to its components: secret files (by path, never read) and bind
 * mounts. A required secret or a bind source that is missing stops the run before it starts.
 */
import type { Component, Pipeline, SecretFile } from "../config/mod.ts";

/** One problem line per required secret file, or bind mount source, that does not exist. */
export function missingPaths(pipeline: Pipeline): string[] {
  const problems: string[] = [];
  for (const component of pipeline.components) {
    for (const secret of component.secrets) {
      if (!secret.required || secret.hostPath === undefined || exists(secret.hostPath)) continue;
      problems.push(
        `component "${component.id}": secret "${secret.name}" is required but "${secret.hostPath}" does not exist`,
      );
    }
    if (pipeline.orchestrator !== "container") continue;
    for (const volume of component.volumes) {
      if (volume.type !== "bind" || exists(volume.hostPath)) continue;
      problems.push(
        `component "${component.id}": volume host_path "${volume.hostPath}" does not exist`,
      );
    }
  }
  return problems;
}

/** The component's secrets whose file exists on the host, with that path. */
export function presentSecrets(
  component: Component,
): { secret: SecretFile; hostPath: string }[] {
  return component.secrets.flatMap((secret) =>
    secret.hostPath !== undefined && exists(secret.hostPath)
      ? [{ secret, hostPath: secret.hostPath }]
      : []
  );
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
