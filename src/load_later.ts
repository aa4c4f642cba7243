/**
 * Imports a module through a specifier that is computed at the call. `deno run` reads and checks
 * every module its entry reaches before the first line runs, dynamic imports with a literal
 * specifier included (about 1 ms each; `flowctl run` reached 240 of them). A computed specifier
 * keeps a module, and everything under it, off that path until it is used; `deno task compile`
 * includes such modules by name (`--include`).
 */
export function loadLater<Module>(url: URL): Promise<Module> {
  return import(url.href) as Promise<Module>;
}
