/**
 * An engine over ssh, as the docker CLI reaches one: each connection to a local unix socket that
 * flowctl owns becomes `ssh … -- <host> docker system dial-stdio`, whose stdin and stdout carry
 * the connection's bytes to the remote engine's socket.
 */
import { getLogger } from "@logtape/logtape";

const logger = getLogger(["flowctl", "docker"]);

/** Where and as whom to run ssh. */
export interface SshTarget {
  readonly user: string | undefined;
  readonly hostname: string;
  readonly port: string | undefined;
}

/** A local socket whose connections are carried to a remote engine by ssh. */
export class SshBridge implements Disposable {
  /** The local socket to send the Engine API to. */
  readonly socketPath: string;
  readonly #dir: string;
  readonly #listener: Deno.Listener<Deno.UnixConn, Deno.UnixAddr>;
  readonly #args: string[];
  readonly #running = new Set<Promise<void>>();
  readonly #children = new Set<Deno.ChildProcess>();
  #lastError: string | undefined;

  private constructor(dir: string, target: SshTarget) {
    this.#dir = dir;
    this.socketPath = `${dir}/docker.sock`;
    this.#listener = Deno.listen({ transport: "unix", path: this.socketPath });
    this.#args = [
      "-o",
      "ConnectTimeout=30",
      "-T",
      ...(target.user ? ["-l", target.user] : []),
      ...(target.port ? ["-p", target.port] : []),
      "--",
      target.hostname,
      "docker",
      "system",
      "dial-stdio",
    ];
    this.#serve();
  }

  /** Opens the local socket (in a private temporary folder). */
  static async open(target: SshTarget): Promise<SshBridge> {
    const dir = await Deno.makeTempDir({ prefix: "flowctl-ssh-" });
    return new SshBridge(dir, target);
  }

  /**
   * Why the last ssh failed (its last line on stderr), once the connections in flight have
   * ended; undefined when none failed.
   */
  async failure(): Promise<string | undefined> {
    await Promise.race([
      Promise.allSettled([...this.#running]),
      new Promise((resolve) => setTimeout(resolve, 2_000)),
    ]);
    return this.#lastError;
  }

  async #serve(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        const carried = this.#carry(conn).finally(() => this.#running.delete(carried));
        this.#running.add(carried);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) {
        logger.warn("The ssh bridge stopped accepting: {error}", { error });
      }
    }
  }

  async #carry(conn: Deno.UnixConn): Promise<void> {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("ssh", {
        args: this.#args,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      this.#lastError = error instanceof Deno.errors.NotFound
        ? "no ssh client on PATH"
        : `cannot run ssh: ${error}`;
      conn.close();
      return;
    }
    this.#children.add(child);
    const stderr = new Response(child.stderr).text();
    const up = conn.readable.pipeTo(child.stdin).catch(() => {});
    const down = child.stdout.pipeTo(conn.writable).catch(() => {});
    const status = await child.status;
    this.#children.delete(child);
    const lines = (await stderr).trim().split("\n").filter((line) => line.trim());
    if (!status.success) {
      this.#lastError = `ssh ${this.#args.join(" ")} exited with ${status.code}${
        lines.length > 0 ? `: ${lines.at(-1)}` : ""
      }`;
    }
    try {
      conn.close();
    } catch {
      // closed by the pipe already
    }
    await Promise.all([up, down]);
  }

  /** Stops accepting, ends every ssh it started and removes the socket's folder. */
  [Symbol.dispose](): void {
    try {
      this.#listener.close();
    } catch {
      // closed already
    }
    for (const child of this.#children) {
      try {
        child.kill("SIGTERM");
      } catch {
        // exited already
      }
    }
    Deno.removeSync(this.#dir, { recursive: true });
  }
}
