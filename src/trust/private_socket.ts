/**
 * The rule for unix sockets flowctl talks to (the admin socket): a socket, owned by the user
 * running flowctl, that nobody else can connect to (no group or other permission bits). A socket
 * that someone else made or could reach may answer with anything, so it is refused before a byte
 * is sent.
 */
import { UntrustedPathError } from "./owned_dir.ts";

/**
 * Checks that `path` is a unix socket of this user with mode 0600 or stricter.
 * @throws {UntrustedPathError} naming the socket and `fix` when it is not.
 * @throws {Deno.errors.NotFound} when there is no socket.
 */
export function checkPrivateSocket(path: string, fix: string): void {
  const info = Deno.lstatSync(path);
  const uid = Deno.uid();
  const mode = (info.mode ?? 0) & 0o777;
  if (!info.isSocket) throw new UntrustedPathError(path, "it is not a socket", fix);
  if (uid !== null && info.uid !== uid) {
    throw new UntrustedPathError(
      path,
      `it is owned by uid ${info.uid}, not by uid ${uid} who runs flowctl`,
      fix,
    );
  }
  if ((mode & 0o077) !== 0) {
    throw new UntrustedPathError(
      path,
      `others may connect to it (mode ${mode.toString(8).padStart(4, "0")})`,
      fix,
    );
  }
}
