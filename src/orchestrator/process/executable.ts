/** Finding a component's program as the shell would, and checking its working dir. */
import { delimiter, isAbsolute, join } from "node:path";
import { absolutePath } from "../../absolute_path.ts";
import type { Component } from "../../config/mod.ts";

export function pathOf(component: Component): string {
  return component.env.PATH ?? Deno.env.get("PATH") ?? "";
}

/** Resolves a program like the shell would: paths against `cwd`, bare names on PATH. */
export function findExecutable(program: string, cwd: string, path: string): string | undefined {
  if (program === "") return undefined;
  if (program.includes("/")) {
    const full = isAbsolute(program) ? program : absolutePath(cwd, program);
    return isExecutable(full) ? full : undefined;
  }
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const full = join(isAbsolute(dir) ? dir : absolutePath(cwd, dir), program);
    if (isExecutable(full)) return full;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

export function checkDirectory(dir: string): string | undefined {
  try {
    return Deno.statSync(dir).isDirectory ? undefined : `"${dir}" is not a folder`;
  } catch {
    return `"${dir}" does not exist`;
  }
}
