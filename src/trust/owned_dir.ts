/**
 * The rule for folders flowctl relies on (state, cache, logs): the folder is owned by the user
 * running flowctl and writable by nobody else, and so is every folder above it (root's folders
 * and sticky ones such as /tmp excepted). Anything else could hold what another local user
 * planted: a state file naming a pid, a symlinked lock file, a binary. flowctl refuses such a
 * folder with one line naming it and the fix, rather than using it.
 */
import { dirname } from "node:path";
import { absolutePath } from "../absolute_path.ts";
import { UserError } from "../user_error.ts";

/** A folder flowctl would rely on that someone else could have written. */
export class UntrustedPathError extends UserError {
  override name = "UntrustedPathError";
  readonly path: string;
  constructor(path: string, problem: string, fix: string) {
    super(`Refusing to use "${path}": ${problem}; ${fix}`);
    this.path = path;
  }
}

const STICKY = 0o1000;
const GROUP_OR_OTHER_WRITE = 0o022;

/** What makes `info` (of `path`) unfit, or undefined when it is fit. */
function problemOf(info: Deno.FileInfo, own: boolean): string | undefined {
  const uid = Deno.uid();
  const mode = (info.mode ?? 0) & 0o7777;
  if (info.isSymlink) return "it is a symbolic link";
  if (!info.isDirectory) return "it is not a folder";
  if (uid !== null && info.uid !== uid && !(!own && info.uid === 0)) {
    return `it is owned by uid ${info.uid}, not by uid ${uid} who runs flowctl`;
  }
  if ((mode & GROUP_OR_OTHER_WRITE) !== 0 && (own || (mode & STICKY) === 0)) {
    return `others can write to it (mode ${mode.toString(8).padStart(4, "0")})`;
  }
  return undefined;
}

/**
 * Checks that `path` is a folder owned by this user, not writable by group or others, and that
 * no folder above it lets another user replace it.
 * @throws {UntrustedPathError} naming the first folder that fails, with `fix`.
 * @throws {Deno.errors.NotFound} when `path` does not exist.
 */
export function checkOwnedDir(given: string, fix: string): void {
  const path = absolutePath(given);
  // A symlink on the way is only as trustworthy as its owner: whoever owns it can re-point it.
  const parts = path.split("/").filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const prefix = `/${parts.slice(0, i).join("/")}`;
    const info = Deno.lstatSync(prefix);
    if (info.isSymlink && info.uid !== 0 && info.uid !== Deno.uid()) {
      throw new UntrustedPathError(prefix, `it is a symbolic link owned by uid ${info.uid}`, fix);
    }
  }
  const real = Deno.realPathSync(path);
  const problem = problemOf(Deno.lstatSync(real), true);
  if (problem) throw new UntrustedPathError(path, problem, fix);
  for (let dir = dirname(real);; dir = dirname(dir)) {
    const aboveProblem = problemOf(Deno.lstatSync(dir), false);
    if (aboveProblem) throw new UntrustedPathError(dir, aboveProblem, fix);
    if (dir === "/") break;
  }
}

/**
 * Creates `path` (mode 0700, and its missing parents) unless it exists, then checks it as
 * `checkOwnedDir` does.
 * @throws {UntrustedPathError} when it exists but is not fit.
 */
export async function ensureOwnedDir(path: string, fix: string): Promise<void> {
  await Deno.mkdir(path, { recursive: true, mode: 0o700 });
  checkOwnedDir(path, fix);
}

/**
 * Checks `path` as `checkOwnedDir` does when it exists.
 * @returns false when it does not exist (nothing to read there).
 * @throws {UntrustedPathError} when it exists but is not fit.
 */
export function ownedDirExists(path: string, fix: string): boolean {
  try {
    checkOwnedDir(path, fix);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
