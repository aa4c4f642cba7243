/** "Did you mean" for a command that is not on PATH: the closest executable name that is. */
import { delimiter, isAbsolute } from "node:path";
import { didYouMean } from "../../config/mod.ts";

/** ` (did you mean "python3"?)` for `pyhton3`, when an executable on `path` is that close. */
export function suggestExecutable(program: string, path: string): string {
  const names = new Set<string>();
  for (const dir of path.split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    try {
      for (const entry of Deno.readDirSync(dir)) {
        if (entry.isFile || entry.isSymlink) names.add(entry.name);
      }
    } catch {
      // a missing or unreadable folder on PATH has nothing to suggest
    }
  }
  return didYouMean(program, [...names]);
}
