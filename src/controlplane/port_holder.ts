/**
 * Holds the control plane's port while no control plane process listens on it: while the
 * process starts (flowctl spawns the first components meanwhile) and between a crash and the
 * restart. Connections that arrive then are accepted and, once the process listens, relayed to
 * it, so a component that dials early is answered late instead of refused. The relay ends with
 * the calls the caller made meanwhile: once they are answered it tells the caller (an HTTP/2
 * GOAWAY, relay_handover.ts) to make new calls on a new connection, which reaches the process
 * directly, so flowctl carries no component's bytes for long. Holder and process both bind with
 * SO_REUSEPORT, so the process can bind while the port is held.
 */
import { getLogger } from "@logtape/logtape";
import { delay } from "../delay.ts";
import { addressKey } from "../proc/tcp_sockets.ts";
import { ControlPlanePortError } from "./errors.ts";
import { RelayHandover } from "./relay_handover.ts";
import type { PeerAddress } from "./peer.ts";

const logger = getLogger(["flowctl", "controlplane"]);

/** The callers behind relayed connections, by the relay's own end ("address:port"). */
export class RelayedPeers {
  readonly #peers = new Map<string, PeerAddress>();

  /** The caller behind `peer` when `peer` is one of flowctl's relays, else `peer` itself. */
  resolve(peer: PeerAddress): PeerAddress {
    return this.#peers.get(relayKey(peer.address, peer.port)) ?? peer;
  }

  add(relay: Deno.NetAddr, caller: PeerAddress): string {
    const key = relayKey(relay.hostname, relay.port);
    this.#peers.set(key, caller);
    return key;
  }

  delete(key: string): void {
    this.#peers.delete(key);
  }
}

function relayKey(address: string, port: number): string {
  return `${addressKey(address) ?? address}:${port}`;
}

export class PortHolder {
  readonly #listeners: Deno.TcpListener[] = [];
  /** The accept loops; each ends once its listener's socket is really gone. */
  readonly #accepting: Promise<void>[] = [];
  readonly #held = new Set<Deno.TcpConn>();
  readonly #relays = new Set<Deno.TcpConn>();
  readonly #peers: RelayedPeers;
  #port: number;

  private constructor(port: number, peers: RelayedPeers) {
    this.#port = port;
    this.#peers = peers;
  }

  /**
   * Holds `port` (0: a free one) on every host. `exclusive` first checks that nobody else holds
   * the port at all (another flowctl would share it through SO_REUSEPORT).
   * @throws {ControlPlanePortError} when the port is in use.
   */
  static hold(
    hosts: readonly string[],
    port: number,
    options: { exclusive: boolean; peers: RelayedPeers },
  ): PortHolder {
    const holder = new PortHolder(port, options.peers);
    try {
      for (const hostname of hosts) {
        if (options.exclusive) {
          const probe = Deno.listen({ hostname, port: holder.#port });
          holder.#port = (probe.addr as Deno.NetAddr).port;
          probe.close();
        }
        const listener = Deno.listen({ hostname, port: holder.#port, reusePort: true });
        holder.#port = (listener.addr as Deno.NetAddr).port;
        holder.#listeners.push(listener);
        holder.#accepting.push(holder.#accept(listener));
      }
    } catch (error) {
      holder.#closeListeners();
      if (error instanceof Deno.errors.AddrInUse) {
        throw new ControlPlanePortError(
          `Cannot start the control plane: port ${port} is already in use (is another pipeline running?); pass --control-plane-port 0 to pick a free port`,
          { cause: error },
        );
      }
      throw error;
    }
    return holder;
  }

  get port(): number {
    return this.#port;
  }

  /**
   * Stops holding (the process listens now) and relays the held connections to it. The relays
   * dial only once the accept loops ended: until then the closed listener's socket may still be
   * in the port's SO_REUSEPORT group, and a relay could reach the holder instead of the process.
   */
  async release(): Promise<void> {
    this.#closeListeners();
    await Promise.all(this.#accepting);
    for (const conn of this.#held) this.#relay(conn);
    this.#held.clear();
  }

  /** Closes everything: held connections and running relays. */
  close(): void {
    this.#closeListeners();
    for (const conn of [...this.#held, ...this.#relays]) closeQuietly(conn);
    this.#held.clear();
    this.#relays.clear();
  }

  async #accept(listener: Deno.TcpListener): Promise<void> {
    try {
      for await (const conn of listener) this.#held.add(conn);
    } catch {
      // closed
    }
  }

  #closeListeners(): void {
    for (const listener of this.#listeners) closeQuietly(listener);
    this.#listeners.length = 0;
  }

  /**
   * Dials the control plane process on the shared port. Right after release a dial can still
   * land on the holder's own socket, which the kernel has not yet torn down, and be reset: the
   * process listens by then, so the next dial reaches it.
   */
  async #connectToProcess(hostname: string): Promise<Deno.TcpConn | undefined> {
    const deadline = Date.now() + RELAY_CONNECT_MS;
    for (;;) {
      try {
        return await Deno.connect({ hostname, port: this.#port });
      } catch (error) {
        const retryable = error instanceof Deno.errors.ConnectionReset ||
          error instanceof Deno.errors.ConnectionRefused;
        if (!retryable || Date.now() >= deadline) return undefined;
        await delay(RELAY_RETRY_MS);
      }
    }
  }

  async #relay(conn: Deno.TcpConn): Promise<void> {
    const local = conn.localAddr;
    const remote = conn.remoteAddr;
    // Counted as a relay while it dials, so close() ends it too.
    this.#relays.add(conn);
    const upstream = await this.#connectToProcess(local.hostname);
    if (!upstream || !this.#relays.has(conn)) {
      this.#relays.delete(conn);
      closeQuietly(conn);
      if (upstream) closeQuietly(upstream);
      return;
    }
    this.#relays.add(upstream);
    const key = this.#peers.add(upstream.localAddr, {
      address: remote.hostname,
      port: remote.port,
      local: { address: local.hostname, port: local.port },
    });
    // A caller that keeps its connection after the GOAWAY (a stream that never ends, a client
    // that ignores it) is cut after a while: it sees that one call fail and reconnects.
    let draining: ReturnType<typeof setTimeout> | undefined;
    let cutAfterDrain = false;
    const cut = () => {
      cutAfterDrain = true;
      closeQuietly(conn);
      closeQuietly(upstream);
    };
    const relayedAt = performance.now();
    const handover = new RelayHandover(() => draining = setTimeout(cut, RELAY_DRAIN_MS));
    await Promise.allSettled([
      conn.readable.pipeThrough(handover.fromCaller()).pipeTo(upstream.writable),
      upstream.readable.pipeThrough(handover.toCaller()).pipeTo(conn.writable),
    ]);
    handover.close();
    clearTimeout(draining);
    const ended = {
      caller: `${remote.hostname}:${remote.port}`,
      ms: Math.round(performance.now() - relayedAt),
    };
    if (cutAfterDrain) {
      logger.debug(
        "Relay of {caller} cut after {ms} ms: the caller kept it past the GOAWAY",
        ended,
      );
    } else logger.debug("Relay of {caller} ended after {ms} ms", ended);
    this.#peers.delete(key);
    this.#relays.delete(conn);
    this.#relays.delete(upstream);
    closeQuietly(conn);
    closeQuietly(upstream);
  }
}

/** How long a relay keeps dialling the process before it gives the held connection up. */
const RELAY_CONNECT_MS = 2_000;
const RELAY_RETRY_MS = 20;
/**
 * How long a relayed connection may outlive the GOAWAY that sends its caller to the process. An
 * HTTP/2 client closes it once its calls on it are answered, at once when it had none open; only
 * a call that streams for longer, such as a health `Watch`, is still open then.
 */
const RELAY_DRAIN_MS = 10_000;

function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // closed already
  }
}
