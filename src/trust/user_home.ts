/**
 * The home folder of the user running flowctl: `$HOME`, else the user database's entry for the
 * uid (as getpwuid reads /etc/passwd). There is no fallback into a shared folder such as /tmp:
 * anything another local user can write there could be planted before flowctl looks.
 */
import { UserError } from "../user_error.ts";

/** Neither `$HOME` nor the user database names a home folder for this uid. */
export class NoHomeError extends UserError {
  override name = "NoHomeError";
}

/** What `userHome()` reads; tests pass their own. */
export interface UserHomeOptions {
  env?: (name: string) => string | undefined;
  uid?: number | null;
  /** The text of the user database (default: /etc/passwd). */
  passwd?: () => string;
}

/**
 * The home folder: `$HOME` when set and absolute, else the home of the uid's /etc/passwd entry.
 * @throws {NoHomeError} when neither names an absolute folder (a uid without an entry, or one
 * whose home is `/nonexistent`), naming the variables that fix it.
 */
export function userHome(options: UserHomeOptions = {}): string {
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const home = env("HOME");
  if (home && home.startsWith("/")) return home;
  const uid = options.uid === undefined ? Deno.uid() : options.uid;
  const fromDatabase = uid === null ? undefined : passwdHome(uid, options.passwd);
  if (fromDatabase) return fromDatabase;
  throw new NoHomeError(
    `Cannot find a home folder: HOME is not set and the user database has none for uid ${uid}; set HOME (or XDG_STATE_HOME and XDG_CACHE_HOME, or FLOWCTL_STATE_DIR)`,
  );
}

/** The home of `uid` in the user database, unless it is missing or `/nonexistent`-like. */
function passwdHome(uid: number, read?: () => string): string | undefined {
  let text: string;
  try {
    text = read ? read() : Deno.readTextFileSync("/etc/passwd");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields.length < 7 || Number(fields[2]) !== uid || fields[2] === "") continue;
    const home = fields[5] ?? "";
    if (!home.startsWith("/") || home === "/" || home.startsWith("/nonexistent")) return undefined;
    return home;
  }
  return undefined;
}

/**
 * A base folder of the XDG spec: `$<variable>` when absolute, else `<home>/<fallback>`.
 * @throws {NoHomeError} when the variable is unset and there is no home.
 */
export function xdgBase(variable: string, fallback: string, options: UserHomeOptions = {}): string {
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const value = env(variable);
  if (value && value.startsWith("/")) return value;
  return `${userHome(options)}/${fallback}`;
}

/**
 * flowctl's cache folder: `$XDG_CACHE_HOME/flowctl`, else `<home>/.cache/flowctl` (home from
 * `$HOME` or the user database, never a shared folder).
 * @throws {NoHomeError} when there is no home and XDG_CACHE_HOME is not set.
 */
export function cacheDir(options: UserHomeOptions = {}): string {
  return `${xdgBase("XDG_CACHE_HOME", ".cache", options)}/flowctl`;
}

/** The fix named when the cache folder is not the user's own. */
export const CACHE_DIR_FIX =
  "make it yours and private (chown, chmod 700) or set XDG_CACHE_HOME to a folder of your own";
