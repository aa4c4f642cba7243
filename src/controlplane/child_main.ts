/**
 * The control plane process (`flowctl __control-plane`): serves gRPC and Connect for one run,
 * answering every call itself, and tells flowctl what changed: a registration before its caller
 * gets the answer (so an answered registration is never lost), heartbeats coalesced per tick.
 * It asks flowctl who a caller is, once per connection, answers flowctl's pings (a hung process is
 * killed and replaced), and ends when flowctl's pipe closes.
 */
import * as v from "valibot";
import { ChildInitSchema, type ChildMessage, ParentMessageSchema } from "./child_protocol.ts";
import { startControlPlane } from "./control_plane_server.ts";
import { LineWriter, readLines } from "./json_lines.ts";
import type { PeerAddress, PeerClaim, PeerRefusal } from "./peer.ts";
import { type Registration, Registry, type RegistryEvent } from "./registry.ts";

/** How long heartbeats are gathered before flowctl hears of them. */
const TICK_MS = 100;

/** Runs the control plane process until stdin closes; returns its exit code. */
export async function runControlPlaneChild(): Promise<number> {
  // Ctrl+C reaches the whole process group; flowctl decides when this process ends (it closes
  // the pipe), so the control plane keeps answering while the pipeline stops.
  for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, () => {});
  const lines = readLines(Deno.stdin.readable);
  const first = await lines.next();
  if (first.done) return 0;
  const init = v.parse(ChildInitSchema, JSON.parse(first.value));
  const outbox = new Outbox(new LineWriter(Deno.stdout.writable));
  const registry = new Registry({
    components: init.components,
    heartbeatIntervalMs: init.heartbeatIntervalMs,
    onEvent: (event) => outbox.event(event),
  });
  registry.restore(init.snapshot);
  const staleness = setInterval(
    () => registry.checkStaleness(),
    Math.max(50, init.heartbeatIntervalMs / 2),
  );
  const identities = new Map<number, (component: string | PeerRefusal | undefined) => void>();
  let nextId = 0;
  const identifyPeer = (peer: PeerAddress, claim?: PeerClaim) =>
    new Promise<string | PeerRefusal | undefined>((resolve) => {
      const id = nextId++;
      identities.set(id, resolve);
      outbox.now({
        type: "identify",
        id,
        peer,
        ...(claim
          ? {
            claim: {
              ids: [...claim.ids],
              ...(claim.healthEndpoint !== undefined
                ? { healthEndpoint: claim.healthEndpoint }
                : {}),
            },
          }
          : {}),
      });
    });
  let server;
  try {
    server = await startControlPlane({
      registry,
      hosts: init.hosts,
      port: init.port,
      open: init.open,
      identifyPeer,
      sync: { registered: () => outbox.flush(), beat: (r) => outbox.beat(r) },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await outbox.now({ type: "failed", message, portInUse: /already in use/.test(message) });
    clearInterval(staleness);
    return 1;
  }
  await outbox.now({ type: "listening", port: server.port, pid: Deno.pid });
  for await (const line of lines) {
    const message = v.parse(ParentMessageSchema, JSON.parse(line));
    if (message.type === "identity") {
      identities.get(message.id)?.(
        message.refused !== undefined ? { refused: message.refused } : message.component,
      );
      identities.delete(message.id);
      continue;
    }
    if (message.type === "ping") {
      outbox.now({ type: "pong", id: message.id });
      continue;
    }
    server.listenOn(message.host).then(
      () => outbox.now({ type: "listened", id: message.id }),
      (error) => outbox.now({ type: "listened", id: message.id, error: String(error) }),
    );
  }
  // flowctl closed the pipe: it is stopping (or gone).
  clearInterval(staleness);
  await server.close();
  await outbox.flush();
  return 0;
}

/** What goes to flowctl: messages in order, heartbeats gathered per service and sent per tick. */
class Outbox {
  readonly #writer: LineWriter;
  readonly #queued: ChildMessage[] = [];
  readonly #beats = new Map<string, Registration>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(writer: LineWriter) {
    this.#writer = writer;
  }

  /** A registry event; sent with the next tick (registrations are flushed by their handler). */
  event(event: RegistryEvent): void {
    this.#queued.push({ type: "event", event: structuredClone(event) });
    this.#schedule();
  }

  beat(registration: Registration): void {
    this.#beats.set(registration.serviceId, registration);
    this.#schedule();
  }

  /** Sends `message` and everything queued before it now. */
  now(message: ChildMessage): Promise<void> {
    this.#queued.push(message);
    return this.flush();
  }

  /** Sends everything queued; resolves once it is in the pipe. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const messages = this.#queued.splice(0);
    if (this.#beats.size > 0) {
      messages.push({
        type: "beats",
        beats: [...this.#beats.values()].map((r) => ({
          serviceId: r.serviceId,
          lastHeartbeat: r.lastHeartbeat,
          status: r.status,
          metrics: r.metrics,
          stale: r.stale,
        })),
      });
      this.#beats.clear();
    }
    return this.#writer.write(messages);
  }

  #schedule(): void {
    this.#timer ??= setTimeout(() => this.flush(), TICK_MS);
  }
}
