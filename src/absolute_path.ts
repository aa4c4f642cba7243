/**
 * `paths` resolved to an absolute path against the current folder. node:path's `resolve` asks
 * Node's `process` for that folder when no path is absolute, and the first use of `process`
 * boots Deno's Node compatibility layer: about 17 ms, on `flowctl run`'s way to its first
 * component. Starting from `Deno.cwd()` gives the same path without it.
 */
import { resolve } from "node:path";

export function absolutePath(...paths: string[]): string {
  return resolve(Deno.cwd(), ...paths);
}
