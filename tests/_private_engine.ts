/**
 * A private Docker engine for tests that must stop or restart one: its own dockerd with its own
 * socket, data-root, exec-root, pidfile, containerd namespace, address pool and mount namespace,
 * never the host's.
 *
 * ```ts
 * await using engine = await startPrivateEngine();
 * new FlowctlProcess(args, { env: { DOCKER_HOST: engine.host } });
 * ```
 */
import * as v from "valibot";
import { DockerClient } from "../src/docker/docker_client.ts";
import { delay } from "../src/delay.ts";
import { processesWith } from "./_helpers.ts";

/** Why no private engine can start here (not root, no dockerd), or undefined when one can. */
export function privateEngineUnavailable(): string | undefined {
  if (Deno.uid() !== 0) return "a private dockerd needs root";
  const path = (Deno.env.get("PATH") ?? "").split(":");
  if (!path.some((dir) => isFile(`${dir}/dockerd`))) return "no dockerd on PATH";
  return undefined;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

export interface PrivateEngineOptions {
  /** Extra dockerd arguments, after the ones that make it private. */
  args?: string[];
  /** A command prefix to run the engine under, e.g. `["nsenter", "--net=/run/netns/worker"]`; it must exec what follows. */
  wrapper?: string[];
  /** How long to wait for the engine to answer; defaults to 60 s. */
  readyTimeoutMs?: number;
}

export interface PrivateEngine extends AsyncDisposable {
  /** The folder holding everything the engine has: socket, data, exec root, pidfile, log. */
  readonly dir: string;
  /** `unix://…/docker.sock`, for `DOCKER_HOST`. */
  readonly host: string;
  /** The /16 its networks' subnets come from, e.g. `10.213.0.0/16`. */
  readonly addressPool: string;
  /** The engine's process id (its wrapper's, when there is one that does not exec). */
  readonly pid: number;
  /** The engine's log so far. */
  log(): Promise<string>;
  /** Stops the engine (SIGTERM, as a service manager does), then starts it again on the same state. */
  restart(): Promise<void>;
}

/** Starts a private dockerd and waits until it answers; disposing stops it and removes its state. */
export async function startPrivateEngine(
  options: PrivateEngineOptions = {},
): Promise<PrivateEngine> {
  const dir = await Deno.makeTempDir({ prefix: "flowctl-dockerd-" });
  const name = dir.slice(dir.lastIndexOf("/") + 1);
  const host = `unix://${dir}/docker.sock`;
  const addressPool = freeAddressPool();
  // An empty config file: the host's /etc/docker/daemon.json (hosts, bridge…) must not apply.
  await Deno.writeTextFile(`${dir}/daemon.json`, "{}\n");
  const args = [
    "--config-file",
    `${dir}/daemon.json`,
    "--host",
    host,
    "--data-root",
    `${dir}/data`,
    "--exec-root",
    `${dir}/exec`,
    "--pidfile",
    `${dir}/docker.pid`,
    // Its own containerd namespaces, in case it shares a system containerd with the host engine.
    "--containerd-namespace",
    name,
    "--containerd-plugins-namespace",
    `${name}-plugins`,
    // The host engine owns the DOCKER iptables chains and docker0: leave both alone.
    "--iptables=false",
    "--bridge",
    "none",
    "--default-address-pool",
    `base=${addressPool},size=24`,
    ...options.args ?? [],
  ];
  // A mount namespace of its own: the engine's overlay, shm and netns mounts never enter the host's
  // mount table, and die with it. Sharing the host's, a restarted engine left a container's
  // overlay mounted twice and its removal failed ("overlay2 … device or resource busy").
  const wrapper = options.wrapper ?? [];
  const command = [
    ...wrapper,
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "dockerd",
    ...args,
  ];
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;

  let child = spawnEngine(command, `${dir}/dockerd.log`);
  const engine: PrivateEngine = {
    dir,
    host,
    addressPool,
    get pid() {
      return child.pid;
    },
    log: () => Deno.readTextFile(`${dir}/dockerd.log`).catch(() => ""),
    async restart() {
      await stopEngine(child, dir);
      child = spawnEngine(command, `${dir}/dockerd.log`);
      await waitUntilAnswering(host, child, dir, readyTimeoutMs);
    },
    async [Symbol.asyncDispose]() {
      try {
        const bridges = await removeEverything(host).catch(() => []);
        await stopEngine(child, dir);
        // A network the engine could not remove keeps its bridge after the engine has gone.
        for (const bridge of bridges) {
          await runQuietly([...wrapper, "ip", "link", "delete", bridge]);
        }
      } finally {
        await removeState(dir);
      }
    },
  };
  try {
    await waitUntilAnswering(host, child, dir, readyTimeoutMs);
  } catch (error) {
    await engine[Symbol.asyncDispose]();
    throw error;
  }
  return engine;
}

function spawnEngine(command: string[], logFile: string): Deno.ChildProcess {
  // `exec` keeps the pid: the child is dockerd (or a wrapper that execs it, as nsenter does).
  return new Deno.Command("sh", {
    args: ["-c", 'log="$1"; shift; exec "$@" >>"$log" 2>&1', "sh", logFile, ...command],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

async function waitUntilAnswering(
  host: string,
  child: Deno.ChildProcess,
  dir: string,
  timeoutMs: number,
): Promise<void> {
  let exited: Deno.CommandStatus | undefined;
  child.status.then((status) => (exited = status));
  const deadline = Date.now() + timeoutMs;
  while (true) {
    try {
      using _docker = await DockerClient.connect(host);
      return;
    } catch (error) {
      const log = () => Deno.readTextFile(`${dir}/dockerd.log`).catch(() => "");
      if (exited) {
        throw new Error(
          `the private dockerd exited with code ${exited.code} before answering on "${host}":\n${await log()}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(
          `the private dockerd did not answer on "${host}" within ${timeoutMs} ms: ${error}\n${await log()}`,
        );
      }
    }
    await delay(100);
  }
}

const ListSchema = v.array(v.looseObject({ Id: v.string(), Name: v.optional(v.string()) }));

/**
 * Removes every container and network, so no bridge or mount outlives the engine; returns the
 * bridge interfaces of its networks (`br-` and 12 characters of the id), removed or not.
 */
async function removeEverything(host: string): Promise<string[]> {
  using docker = await DockerClient.connect(host);
  const networks = (await docker.json(ListSchema, "GET", "/networks"))
    .filter(({ Name }) => Name !== "none" && Name !== "host");
  try {
    const containers = await docker.json(ListSchema, "GET", "/containers/json", {
      query: { all: true },
    });
    for (const { Id } of containers) await docker.removeContainer(Id);
    for (const { Id } of networks) await docker.removeNetwork(Id);
  } catch {
    // What the engine cannot remove goes with its folder and its bridges, after it stops.
  }
  return networks.map(({ Id }) => `br-${Id.slice(0, 12)}`);
}

/** SIGTERM, up to 30 s, then SIGKILL; then anything still running from its folder (containerd, shims). */
async function stopEngine(child: Deno.ChildProcess, dir: string): Promise<void> {
  signal(child.pid, "SIGTERM");
  const timeout = new AbortController();
  const stopped = await Promise.race([
    child.status.then(() => true),
    delay(30_000, { signal: timeout.signal }).then(() => false),
  ]);
  timeout.abort();
  if (!stopped) {
    signal(child.pid, "SIGKILL");
    await child.status;
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    // The engine, its containerd and any container shim: each has the folder on its command line.
    const left = processesWith(dir);
    if (left.length === 0) return;
    for (const pid of left) signal(pid, attempt < 50 ? "SIGTERM" : "SIGKILL");
    await delay(100);
  }
  throw new Error(`processes of the private engine in "${dir}" survived SIGKILL`);
}

async function removeState(dir: string): Promise<void> {
  // Deepest first: netns files, container rootfs and shm mounts under data-root and exec-root.
  const mounts = mountPointsUnder(dir).sort((a, b) => b.length - a.length);
  for (const mount of mounts) await runQuietly(["umount", "-l", mount]);
  await Deno.remove(dir, { recursive: true });
}

/** Runs `argv` to its end; its outcome shows in what is left, which the callers check. */
async function runQuietly([program = "", ...args]: string[]): Promise<void> {
  await new Deno.Command(program, { args, stdin: "null", stdout: "null", stderr: "null" }).output();
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

function mountPointsUnder(dir: string): string[] {
  return Deno.readTextFileSync("/proc/self/mountinfo").split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .filter((mount) => mount.startsWith(`${dir}/`));
}

/**
 * A 10.x.0.0/16 that no route of this host overlaps: the engine must not hand out subnets that
 * clash with the host engine's networks (172.17+ and 192.168 by default) or anything else here.
 */
function freeAddressPool(): string {
  // /proc/net/route: destination and mask as little-endian hex, after a header line.
  const routes = Deno.readTextFileSync("/proc/net/route").trim().split("\n").slice(1)
    .map((line) => line.split("\t"))
    .map((fields) => ({ dest: hexAddress(fields[1] ?? "0"), mask: hexAddress(fields[7] ?? "0") }))
    .filter((route) => route.mask !== 0);
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = ((10 << 24) | ((200 + Math.floor(Math.random() * 50)) << 16)) >>> 0;
    const poolMask = 0xffff0000;
    const clash = routes.some(({ dest, mask }) => {
      const common = (mask & poolMask) >>> 0;
      return ((dest & common) >>> 0) === ((base & common) >>> 0);
    });
    if (!clash) return `10.${(base >>> 16) & 0xff}.0.0/16`;
  }
  throw new Error("no 10.200-249.0.0/16 address pool is free of this host's routes");
}

function hexAddress(hex: string): number {
  const n = parseInt(hex, 16);
  // Little-endian in the file: reverse the bytes.
  return (((n & 0xff) << 24) | (((n >>> 8) & 0xff) << 16) | (((n >>> 16) & 0xff) << 8) |
    ((n >>> 24) & 0xff)) >>> 0;
}
