/**
 * The control plane as flowctl holds it: a child process (flowctl itself, through a hidden
 * subcommand) that serves gRPC, supervised and restarted on the same port at once when it dies.
 * Deno's `node:http2` can abort the whole process inside nghttp2 when clients close their
 * connections (denoland/deno#36788); behind this boundary that takes the child down, never flowctl
 * and the pipeline it supervises. flowctl keeps a mirror of the registry, fed by the child, and
 * hands it to the next child, so components stay registered across a restart. A child that stops
 * answering flowctl's pings (heap corruption can deadlock it, too) is killed and replaced the same
 * way. This module loads no gRPC code at all.
 */
import { fileURLToPath } from "node:url";
import { getLogger } from "@logtape/logtape";
import * as v from "valibot";
import { delay } from "../delay.ts";
import {
  CHILD_COMMAND,
  type ChildInit,
  type ChildMessage,
  ChildMessageSchema,
} from "./child_protocol.ts";
import { ControlPlanePortError } from "./errors.ts";
import { LineWriter, readLines } from "./json_lines.ts";
import { LivenessWatch } from "./liveness_watch.ts";
import type { IdentifyPeer } from "./peer.ts";
import { PortHolder, RelayedPeers } from "./port_holder.ts";
import type { Registry, RegistryEvent } from "./registry.ts";

const logger = getLogger(["flowctl", "controlplane"]);

export interface ControlPlaneProcessOptions {
  /** The mirror that the runner waits on; the child's changes are applied to it. */
  registry: Registry;
  /** Addresses to listen on (loopback, and the pipeline network's gateway in container mode). */
  hosts: string[];
  /** 0 picks a free port. */
  port: number;
  open: boolean;
  components: ChildInit["components"];
  heartbeatIntervalMs: number;
  /** Tells which component a caller is; the child asks once per connection. */
  identifyPeer?: IdentifyPeer;
  /** A registry event, after the mirror took it in. */
  onEvent(event: RegistryEvent): void;
  /** One line for people: the child died and was restarted. */
  onNotice(message: string): void;
}

/** A running child: its process, the pipe to it, and its pending `listen` requests. */
interface Child {
  process: Deno.ChildProcess;
  writer: LineWriter;
  listening: PromiseWithResolvers<number>;
  listens: Map<number, PromiseWithResolvers<void>>;
  stderrTail: string[];
  /** Resolves once its output has been read to the end. */
  drained: Promise<void>;
  /** performance.now() when it was spawned. */
  spawnedAt: number;
  /** Pings it once it listens. */
  watch?: LivenessWatch;
  /** How long it had left a ping unanswered when flowctl killed it as hung. */
  silentMs?: number;
}

const MAX_RESTART_DELAY_MS = 5_000;

export class ControlPlaneProcess implements AsyncDisposable {
  readonly #options: ControlPlaneProcessOptions;
  readonly #hosts: string[];
  readonly #floodWarned = new Set<string>();
  #port: number;
  #child: Child | undefined;
  #closing = false;
  #nextId = 0;
  #failedStarts = 0;
  #supervision: Promise<void> = Promise.resolve();
  /** Holders of the port while no child listens, and the callers behind their relays. */
  readonly #holders: PortHolder[] = [];
  #holder: PortHolder | undefined;
  readonly #peers = new RelayedPeers();

  private constructor(options: ControlPlaneProcessOptions) {
    this.#options = options;
    this.#hosts = [...options.hosts];
    this.#port = options.port;
  }

  /**
   * Takes the port and starts the child; resolves at once (the child listens a moment later, and
   * connections made before are held until it does).
   * @throws {ControlPlanePortError} when the port is in use.
   */
  static start(options: ControlPlaneProcessOptions): Promise<ControlPlaneProcess> {
    const plane = new ControlPlaneProcess(options);
    plane.#hold(true);
    plane.#supervise(plane.#spawn());
    return Promise.resolve(plane);
  }

  /** Resolves once a child listens (it may take a restart or more). */
  async ready(): Promise<void> {
    while (true) {
      const child = this.#child;
      if (!child) throw new Error("the control plane is closed");
      if (await child.listening.promise.then(() => true, () => false)) return;
      if (this.#closing) throw new Error("the control plane is closed");
      await delay(50);
    }
  }

  get port(): number {
    return this.#port;
  }

  get hosts(): readonly string[] {
    return this.#hosts;
  }

  /** The pid of the process serving now, if one is running. */
  get pid(): number | undefined {
    return this.#child?.process.pid;
  }

  /** Also listens on `host` with the same port (the pipeline network's gateway). */
  async listenOn(host: string): Promise<void> {
    await this.ready();
    const child = this.#child;
    if (!child) throw new Error("the control plane process is not running");
    const id = this.#nextId++;
    const done = Promise.withResolvers<void>();
    child.listens.set(id, done);
    await child.writer.write([{ type: "listen", id, host }]);
    await done.promise;
    this.#hosts.push(host);
  }

  async close(): Promise<void> {
    this.#closing = true;
    for (const holder of this.#holders) holder.close();
    const child = this.#child;
    if (child) {
      child.watch?.stop();
      await child.writer.close();
      const exited = await Promise.race([
        child.process.status.then(() => true),
        delay(2_000).then(() => false),
      ]);
      if (!exited) {
        try {
          child.process.kill("SIGKILL");
        } catch { /* gone already */ }
      }
      await child.process.status;
      await child.drained;
    }
    await this.#supervision;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Holds the port until a child listens. The first time it must be nobody's; after a crash a
   * failure to hold it only means early callers are refused until the restart.
   */
  #hold(first: boolean): void {
    if (this.#holder) return;
    try {
      this.#holder = PortHolder.hold(this.#hosts, this.#port, {
        exclusive: first,
        peers: this.#peers,
      });
      this.#holders.push(this.#holder);
      this.#port = this.#holder.port;
    } catch (error) {
      if (first) throw error;
      logger.warn("Cannot hold the control plane port during the restart: {error}", {
        error: String(error),
      });
    }
  }

  #spawn(): Child {
    const [program, ...args] = childCommandLine();
    const process = new Deno.Command(program!, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const child: Child = {
      process,
      writer: new LineWriter(process.stdin),
      listening: Promise.withResolvers<number>(),
      listens: new Map(),
      stderrTail: [],
      drained: Promise.resolve(),
      spawnedAt: performance.now(),
    };
    child.listening.promise.catch(() => {});
    this.#child = child;
    const { options } = { options: this.#options };
    child.writer.write([
      {
        type: "init",
        hosts: this.#hosts,
        port: this.#port,
        open: options.open,
        components: options.components,
        heartbeatIntervalMs: options.heartbeatIntervalMs,
        snapshot: {
          registrations: options.registry.list(),
          floodWarned: [...this.#floodWarned],
        },
      } satisfies ChildInit,
    ]);
    const stdout = (async () => {
      for await (const line of readLines(process.stdout)) this.#receive(child, line);
    })();
    const stderr = (async () => {
      for await (const line of readLines(process.stderr)) {
        child.stderrTail.push(line);
        if (child.stderrTail.length > 5) child.stderrTail.shift();
        logger.warn("control plane process: {line}", { line });
      }
    })();
    child.drained = Promise.all([stdout, stderr]).then(() => {});
    process.status.then(async (status) => {
      child.watch?.stop();
      await child.drained;
      child.listening.reject(
        new Error(`the control plane process exited (${describeStatus(status, child)})`),
      );
      for (const pending of child.listens.values()) {
        pending.reject(new Error("the control plane process exited"));
      }
    });
    return child;
  }

  /** Restarts the child whenever it dies, until flowctl closes the control plane. */
  #supervise(first: Child): void {
    this.#supervision = (async () => {
      let child = first;
      while (true) {
        const listened = await child.listening.promise.then(() => true, () => false);
        const status = await child.process.status;
        const diedAt = Date.now();
        if (!this.#closing) this.#hold(false);
        await child.drained;
        if (this.#closing) return;
        const died = child.silentMs === undefined
          ? `Control plane process (pid ${child.process.pid}) died (${
            describeStatus(status, child)
          })`
          : `Control plane process (pid ${child.process.pid}) stopped answering for ${
            (child.silentMs / 1000).toFixed(1)
          } s and was killed`;
        // A crash while serving (what clients cause) is restarted at once; a child that cannot
        // even start again is retried after a growing delay.
        this.#failedStarts = listened ? 0 : this.#failedStarts + 1;
        const wait = this.#failedStarts === 0
          ? 0
          : Math.min(MAX_RESTART_DELAY_MS, 100 * 2 ** this.#failedStarts);
        if (wait > 0) await delay(wait);
        if (this.#closing) return;
        child = this.#spawn();
        try {
          await child.listening.promise;
          this.#options.onNotice(
            `${died}; restarted it on port ${this.#port} in ${
              Date.now() - diedAt
            } ms (pid ${child.process.pid}) with ${this.#options.registry.list().length} registration(s) kept`,
          );
        } catch (error) {
          this.#options.onNotice(
            `${died}; restarting it on port ${this.#port} failed: ${
              error instanceof Error ? error.message : String(error)
            }; trying again`,
          );
        }
      }
    })();
  }

  #receive(child: Child, line: string): void {
    let parsed: v.SafeParseResult<typeof ChildMessageSchema>;
    try {
      parsed = v.safeParse(ChildMessageSchema, JSON.parse(line));
    } catch {
      logger.warn("control plane process sent a line that is no JSON: {line}", { line });
      return;
    }
    if (!parsed.success) {
      logger.warn("control plane process sent an unknown message: {line}", { line });
      return;
    }
    this.#handle(child, parsed.output);
  }

  #handle(child: Child, message: ChildMessage): void {
    const { registry } = this.#options;
    switch (message.type) {
      case "listening":
        logger.debug("Control plane process {pid} listens, {ms} ms after it was spawned", {
          pid: message.pid,
          ms: Math.round(performance.now() - child.spawnedAt),
        });
        this.#holder?.release().catch((error) =>
          logger.warn("Cannot relay held control plane connections: {error}", {
            error: String(error),
          })
        );
        this.#holder = undefined;
        this.#watch(child);
        return child.listening.resolve(message.port);
      case "failed":
        return child.listening.reject(
          message.portInUse
            ? new ControlPlanePortError(message.message)
            : new Error(`the control plane did not start: ${message.message}`),
        );
      case "listened": {
        const pending = child.listens.get(message.id);
        child.listens.delete(message.id);
        if (message.error === undefined) return pending?.resolve();
        return pending?.reject(new Error(message.error));
      }
      case "pong":
        return child.watch?.answered(message.id);
      case "identify":
        return void this.#identify(child, message.id, message.peer, message.claim);
      case "beats":
        for (const beat of message.beats) registry.refresh(beat.serviceId, beat);
        return;
      case "event": {
        const { event } = message;
        const { registration } = event;
        if (event.type === "registered") registry.adopt(registration);
        else if (event.type === "unregistered" || event.type === "dropped") {
          registry.discard(registration.serviceId);
        } else registry.refresh(registration.serviceId, registration);
        if (event.type === "heartbeat_flood") {
          this.#floodWarned.add(registration.componentId ?? registration.serviceId);
        }
        return this.#options.onEvent(event);
      }
    }
  }

  /** Pings `child` from now on; kills it when it stops answering (the supervisor restarts it). */
  #watch(child: Child): void {
    if (this.#closing) return;
    child.watch = new LivenessWatch({
      ping: (id) => void child.writer.write([{ type: "ping", id }]),
      onSilent: (silentMs) => {
        if (this.#closing) return;
        child.silentMs = silentMs;
        logger.warn("Control plane process {pid} left a ping unanswered for {silentMs} ms", {
          pid: child.process.pid,
          silentMs,
        });
        try {
          child.process.kill("SIGKILL");
        } catch { /* gone already */ }
      },
    });
  }

  async #identify(
    child: Child,
    id: number,
    peer: Parameters<IdentifyPeer>[0],
    claim: Parameters<IdentifyPeer>[1],
  ): Promise<void> {
    const identify = this.#options.identifyPeer;
    const caller = this.#peers.resolve(peer);
    const found = identify ? await identify(caller, claim).catch(() => undefined) : undefined;
    await child.writer.write([{
      type: "identity",
      id,
      ...(typeof found === "string" ? { component: found } : {}),
      ...(typeof found === "object" ? { refused: found.refused } : {}),
    }]);
  }
}

/** How flowctl runs itself as the control plane process: the compiled binary, or deno run. */
function childCommandLine(): string[] {
  if (Deno.build.standalone) return [Deno.execPath(), CHILD_COMMAND];
  const main = fileURLToPath(new URL("../../main.ts", import.meta.url));
  return [Deno.execPath(), "run", "-A", "--quiet", main, CHILD_COMMAND];
}

function describeStatus(status: Deno.CommandStatus, child: Child): string {
  const how = status.signal ? `signal ${status.signal}` : `exit code ${status.code}`;
  const last = child.stderrTail.at(-1);
  return last ? `${how}: ${last.slice(0, 200)}` : how;
}
