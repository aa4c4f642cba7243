/**
 * A hostile registry for tests: it speaks the Distribution API well enough to be pulled from,
 * and then misbehaves as an attacker's registry would. The repository picks the attack
 * (`<host>/hostile/<attack>:v1`); tests/_registry.ts has the real registry for comparison.
 *
 * Attacks: endless manifest, token and error bodies; a layer whose bytes do not match its
 * digest; a gzip bomb; a deeply nested layer; a layer of many files; whiteouts reaching out of
 * the root; a server that never answers, or stops mid-body; token realms of `file:`, `data:` and
 * another origin (which records what it is sent, and serves the blob the registry redirects to
 * it after authorizing); a blob redirect to `file:`; escape sequences
 * in an error; a manifest of 20,000 layers.
 */
import { layer, type LayerBlob, sha256 } from "./_registry.ts";

export type Attack =
  | "good"
  | "endless-manifest"
  | "endless-token"
  | "endless-error"
  | "wrong-digest"
  | "gzip-bomb"
  | "deep-paths"
  | "many-files"
  | "whiteout-escape"
  | "stall"
  | "stall-body"
  | "realm-file"
  | "realm-dev-zero"
  | "realm-data"
  | "realm-other-origin"
  | "redirect-file"
  | "escape-sequences"
  | "many-layers";

/** Bytes a gzip bomb unpacks to. */
export const BOMB_BYTES = 32 * 1024 * 1024;
/** Folders nested in the deep layer. */
export const DEEP_LEVELS = 1500;
/** Files in the many-files layer. */
export const MANY_FILES = 20_000;
/** What an error of the escape-sequences attack says (a title change, then red text). */
export const ESCAPES = "\x1b]0;pwned\x07\x1b[31mred\x1b[0m\r\nforged line";

const MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";
const LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip";
const CONFIG = new TextEncoder().encode("{}");

/** A server that records every request (path and Authorization) it receives. */
export interface RecordingServer {
  origin: string;
  seen: string[];
}

export class HostileRegistry implements AsyncDisposable {
  /** `127.0.0.1:<port>`, to use in image references. */
  readonly host: string;
  readonly seen: string[] = [];
  /** Another origin (another port), for realms that point away from the registry. */
  readonly other: RecordingServer;
  /** Attacks whose blob was sent to the end. */
  readonly blobsSent = new Set<Attack>();
  readonly #servers: Deno.HttpServer<Deno.NetAddr>[];
  readonly #closing = Promise.withResolvers<void>();
  readonly #layers: Map<Attack, LayerBlob>;

  private constructor(layers: Map<Attack, LayerBlob>) {
    this.#layers = layers;
    const other: RecordingServer = { origin: "", seen: [] };
    const otherServer = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (r) => {
      const path = new URL(r.url).pathname;
      other.seen.push(`${path} ${r.headers.get("authorization") ?? ""}`);
      // A CDN that blobs are redirected to.
      if (path.startsWith("/blob/")) return new Response(layers.get("good")?.bytes);
      return Response.json({ token: "stolen-or-not" });
    });
    other.origin = `http://127.0.0.1:${otherServer.addr.port}`;
    this.other = other;
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#handle(request),
    );
    this.host = `127.0.0.1:${server.addr.port}`;
    this.#servers = [server, otherServer];
  }

  /** Starts the registry (building its layers takes a second: the bomb is real). */
  static async start(): Promise<HostileRegistry> {
    const layers = new Map<Attack, LayerBlob>([
      ["good", await layer([{ path: "app/run", text: "#!/bin/sh\necho ok\n", mode: 0o755 }])],
      ["gzip-bomb", await layer([{ path: "zeros", bytes: new Uint8Array(BOMB_BYTES) }])],
      ["deep-paths", await deepLayer()],
      [
        "many-files",
        await layer(Array.from({ length: MANY_FILES }, (_, i) => ({ path: `f/${i}`, text: "" }))),
      ],
      [
        "whiteout-escape",
        await layer([{ path: ".wh..", text: "" }, { path: "x/.wh...", text: "" }]),
      ],
    ]);
    return new HostileRegistry(layers);
  }

  /** The reference of an attack's image. */
  reference(attack: Attack): string {
    return `${this.host}/hostile/${attack}:v1`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#closing.resolve();
    await Promise.all(this.#servers.map((s) => s.shutdown()));
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    this.seen.push(`${url.pathname} ${request.headers.get("authorization") ?? ""}`);
    const match = /^\/v2\/hostile\/([a-z-]+)\/(manifests|blobs)\/(.+)$/.exec(url.pathname);
    if (url.pathname === "/token-endless") return endless();
    if (!match) return new Response("not found", { status: 404 });
    const attack = match[1] as Attack;
    const kind = match[2];
    const auth = request.headers.get("authorization");
    switch (attack) {
      case "stall":
        await this.#closing.promise;
        return new Response("too late", { status: 503 });
      case "endless-manifest":
        return endless({ "content-type": MANIFEST_TYPE });
      case "endless-error":
        return endless({}, 500);
      case "escape-sequences":
        return Response.json({ errors: [{ code: "DENIED", message: ESCAPES }] }, { status: 404 });
      case "endless-token":
      case "realm-file":
      case "realm-dev-zero":
      case "realm-data":
      case "realm-other-origin":
        if (auth !== "Bearer stolen-or-not") return this.#challenge(attack);
        break;
    }
    return kind === "manifests" ? this.#manifest(attack) : this.#blob(attack, match[3] ?? "");
  }

  #challenge(attack: Attack): Response {
    const realm = {
      "endless-token": `http://${this.host}/token-endless`,
      "realm-file": "file:///etc/passwd",
      "realm-dev-zero": "file:///dev/zero",
      "realm-data": "data:application/json,%7B%22token%22%3A%22x%22%7D",
      "realm-other-origin": `${this.other.origin}/token`,
    }[attack as string];
    return new Response("{}", {
      status: 401,
      headers: { "www-authenticate": `Bearer realm="${realm}",service="hostile"` },
    });
  }

  #manifest(attack: Attack): Response {
    const blob = this.#layers.get(attack) ?? this.#layers.get("good");
    const descriptor = { mediaType: LAYER_TYPE, digest: blob?.digest, size: blob?.bytes.length };
    const layers = attack === "many-layers"
      ? Array.from({ length: 20_000 }, () => descriptor)
      : [descriptor];
    const manifest = {
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: sha256(CONFIG),
        size: CONFIG.length,
      },
      layers,
    };
    return new Response(JSON.stringify(manifest), { headers: { "content-type": MANIFEST_TYPE } });
  }

  #blob(attack: Attack, digest: string): Response {
    if (attack === "realm-other-origin" && digest !== sha256(CONFIG)) {
      // Authorized here; the redirect to another origin must not carry the authorization.
      return new Response(null, {
        status: 307,
        headers: { location: `${this.other.origin}/blob/${digest}` },
      });
    }
    if (attack === "redirect-file") {
      return new Response(null, { status: 307, headers: { location: "file:///etc/passwd" } });
    }
    const blob = this.#layers.get(attack) ?? this.#layers.get("good");
    if (!blob || (digest !== blob.digest && digest !== sha256(CONFIG))) {
      return new Response("no such blob", { status: 404 });
    }
    let bytes = digest === sha256(CONFIG) ? CONFIG : blob.bytes;
    if (attack === "wrong-digest") {
      bytes = bytes.slice();
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    }
    if (attack === "stall-body") return stallingBody(bytes.slice(0, 100), this.#closing.promise);
    const sent = () => this.blobsSent.add(attack);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
        sent();
      },
    });
    return new Response(body, { headers: { "content-length": String(bytes.length) } });
  }
}

/** A body without end (64 KiB chunks of "x" as long as it is read). */
function endless(headers: Record<string, string> = {}, status = 200): Response {
  const chunk = new TextEncoder().encode("x".repeat(65536));
  return new Response(
    new ReadableStream({ pull: (controller) => controller.enqueue(chunk) }),
    { status, headers },
  );
}

/** A body that sends `first` and then nothing until `until`. */
function stallingBody(first: Uint8Array, until: Promise<void>): Response {
  return new Response(
    new ReadableStream({
      async start(controller) {
        controller.enqueue(first);
        await until;
        controller.close();
      },
    }),
  );
}

/** A layer of folders nested DEEP_LEVELS deep, each one an entry: "d/", "d/d/", … */
function deepLayer(): Promise<LayerBlob> {
  return layer(
    Array.from(
      { length: DEEP_LEVELS },
      (_, i) => ({ path: "d/".repeat(i + 1).slice(0, -1), dir: true as const }),
    ),
  );
}
