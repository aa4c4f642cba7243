/**
 * Private swarms for tests: each node is a private dockerd in a network namespace of its own
 * (started with `nsenter --net=…`), the nodes linked by a veth pair; the manager inits a swarm
 * on its veth address and workers join it. The host's own engine and network are never touched:
 * everything is removed on disposal.
 *
 * ```ts
 * await using swarm = await startSwarm({ workers: 1 });
 * new FlowctlProcess(args, { wrapper: swarm.manager.wrapper, env: { DOCKER_HOST: swarm.manager.engine.host } });
 * ```
 */
import * as v from "valibot";
import { DockerClient } from "../src/docker/docker_client.ts";
import { buildTestImage } from "./_docker.ts";
import { type PrivateEngine, startPrivateEngine } from "./_private_engine.ts";

export interface SwarmNode {
  /** Its `node.labels.name`, for placement constraints. */
  readonly name: string;
  readonly engine: PrivateEngine;
  readonly netns: string;
  /** Its address on the veth link, which it advertises to the swarm. */
  readonly address: string;
  /** Runs a command in the node's network namespace. */
  readonly wrapper: string[];
}

export interface PrivateSwarm extends AsyncDisposable {
  readonly manager: SwarmNode;
  readonly workers: readonly SwarmNode[];
  /**
   * With `hostLink`: this host's own address on its link to the manager, where the nodes reach
   * a flowctl that runs on the host (no node).
   */
  readonly hostAddress: string | undefined;
}

/** Why no private swarm can start here, or undefined when one can. */
export { privateEngineUnavailable as privateSwarmUnavailable } from "./_private_engine.ts";

export interface SwarmOptions {
  workers?: number;
  /**
   * Links this host to the manager (a veth pair, routed on to the workers), so a flowctl on the
   * host that is no node reaches every node and they reach it.
   */
  hostLink?: boolean;
  /** Extra dockerd arguments for the manager (e.g. a tcp listener with TLS). */
  managerArgs?: string[];
  /** The manager's swarm advertise and listen address; default its link address. */
  advertise?: string;
  /** The nodes' /24 as `10.97.N` (manager .1, workers .2…, this host .254); default random. */
  subnet?: string;
}

/** A random `10.97.N` for `SwarmOptions.subnet`. */
export function randomSwarmSubnet(): string {
  return `10.97.${Math.floor(Math.random() * 250) + 1}`;
}

/** Starts a manager and `workers` workers, with the busybox test image on each. */
export async function startSwarm(options: SwarmOptions = {}): Promise<PrivateSwarm> {
  const tag = crypto.randomUUID().slice(0, 6);
  const subnet = options.subnet ?? randomSwarmSubnet();
  const count = 1 + (options.workers ?? 0);
  const cleanups: (() => Promise<void>)[] = [];
  const dispose = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    const names = Array.from({ length: count }, (_, i) => `fsw-${tag}-${i}`);
    for (const name of names) {
      await sh(["ip", "netns", "add", name]);
      cleanups.push(() => sh(["ip", "netns", "delete", name]));
      await sh(["ip", "-n", name, "link", "set", "lo", "up"]);
    }
    const [managerNs = ""] = names;
    await linkNodes(managerNs, names.slice(1), subnet);
    let hostAddress: string | undefined;
    if (options.hostLink) {
      hostAddress = `${subnet}.254`;
      const hostEnd = `fsh-${tag}`;
      cleanups.push(() => sh(["ip", "link", "delete", hostEnd]));
      await linkHost(managerNs, hostEnd, subnet, hostAddress);
    }
    const nodes: SwarmNode[] = [];
    for (const [i, netns] of names.entries()) {
      const wrapper = ["nsenter", `--net=/run/netns/${netns}`];
      const engine = await startPrivateEngine({
        wrapper,
        ...(i === 0 && options.managerArgs ? { args: options.managerArgs } : {}),
      });
      cleanups.push(async () => await engine[Symbol.asyncDispose]());
      const address = `${subnet}.${i + 1}`;
      const name = i === 0 ? `manager-${tag}` : `worker${i}-${tag}`;
      nodes.push({ name, engine, netns, address, wrapper });
      await buildTestImage(engine.host);
    }
    const [manager, ...workers] = nodes;
    if (!manager) throw new Error("no manager");
    using docker = await DockerClient.connect(manager.engine.host);
    const advertise = options.advertise ?? manager.address;
    if (options.hostLink || count > 1) {
      // The manager forwards and masquerades its tasks' traffic to other hosts, as workers do.
      await masquerade(manager);
    }
    await docker.call("POST", "/swarm/init", {
      json: {
        ListenAddr: `${advertise}:2377`,
        AdvertiseAddr: advertise,
        // Overlay subnets apart from the veth link and the engines' bridges.
        DefaultAddrPool: [`10.96.0.0/16`],
        SubnetSize: 24,
      },
    });
    await renameNode(docker, manager.name);
    const token = (await docker.json(
      v.looseObject({ JoinTokens: v.looseObject({ Worker: v.string() }) }),
      "GET",
      "/swarm",
    )).JoinTokens.Worker;
    for (const worker of workers) {
      await masquerade(worker);
      using workerDocker = await DockerClient.connect(worker.engine.host);
      await workerDocker.call("POST", "/swarm/join", {
        json: {
          ListenAddr: `${worker.address}:2377`,
          AdvertiseAddr: worker.address,
          RemoteAddrs: [`${manager.address}:2377`],
          JoinToken: token,
        },
      });
    }
    await waitForNodes(docker, count);
    for (const worker of workers) await renameNodeAt(docker, worker);
    return { manager, workers, hostAddress, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/**
 * A veth pair from the manager to each worker: the manager holds `<subnet>.1` on each of its
 * ends and routes each worker's address to its link (answering ARP for the others, so workers
 * reach each other and the host through it); worker i holds `<subnet>.<i+2>/24`. A lone manager
 * gets both ends of one pair.
 */
async function linkNodes(managerNs: string, workerNss: string[], subnet: string): Promise<void> {
  if (workerNss.length === 0) {
    await sh(["ip", "-n", managerNs, "link", "add", "m0", "type", "veth", "peer", "name", "w0"]);
    await sh(["ip", "-n", managerNs, "addr", "add", `${subnet}.1/24`, "dev", "m0"]);
    await sh(["ip", "-n", managerNs, "link", "set", "m0", "up"]);
    await sh(["ip", "-n", managerNs, "link", "set", "w0", "up"]);
    return;
  }
  await sh(["ip", "netns", "exec", managerNs, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
  for (const [i, peer] of workerNss.entries()) {
    const [m, w] = [`m${i}`, `w${i}`];
    await sh([
      "ip",
      "-n",
      managerNs,
      "link",
      "add",
      m,
      "type",
      "veth",
      "peer",
      "name",
      w,
      "netns",
      peer,
    ]);
    await sh(["ip", "-n", managerNs, "addr", "add", `${subnet}.1/32`, "dev", m]);
    await sh(["ip", "-n", managerNs, "link", "set", m, "up"]);
    await sh([
      "ip",
      "-n",
      managerNs,
      "route",
      "add",
      `${subnet}.${i + 2}/32`,
      "dev",
      m,
      "src",
      `${subnet}.1`,
    ]);
    await sh([
      "ip",
      "netns",
      "exec",
      managerNs,
      "sysctl",
      "-q",
      "-w",
      `net.ipv4.conf.${m}.proxy_arp=1`,
    ]);
    await sh(["ip", "-n", peer, "addr", "add", `${subnet}.${i + 2}/24`, "dev", w]);
    await sh(["ip", "-n", peer, "link", "set", w, "up"]);
  }
}

/** A veth pair from this host (`hostEnd`, holding `hostAddress`/24) to the manager. */
async function linkHost(
  managerNs: string,
  hostEnd: string,
  subnet: string,
  hostAddress: string,
): Promise<void> {
  await sh([
    "ip",
    "link",
    "add",
    hostEnd,
    "type",
    "veth",
    "peer",
    "name",
    "h0",
    "netns",
    managerNs,
  ]);
  await sh(["ip", "addr", "add", `${hostAddress}/24`, "dev", hostEnd]);
  await sh(["ip", "link", "set", hostEnd, "up"]);
  await sh(["ip", "netns", "exec", managerNs, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
  await sh(["ip", "-n", managerNs, "addr", "add", `${subnet}.1/32`, "dev", "h0"]);
  await sh(["ip", "-n", managerNs, "link", "set", "h0", "up"]);
  await sh([
    "ip",
    "-n",
    managerNs,
    "route",
    "add",
    `${hostAddress}/32`,
    "dev",
    "h0",
    "src",
    `${subnet}.1`,
  ]);
  await sh([
    "ip",
    "netns",
    "exec",
    managerNs,
    "sysctl",
    "-q",
    "-w",
    "net.ipv4.conf.h0.proxy_arp=1",
  ]);
}

/** The node forwards and masquerades its tasks' traffic to other hosts, as an engine with iptables does. */
async function masquerade(node: SwarmNode): Promise<void> {
  await sh([...node.wrapper, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
  await sh([
    ...node.wrapper,
    "iptables",
    "-t",
    "nat",
    "-A",
    "POSTROUTING",
    "-s",
    node.engine.addressPool,
    "!",
    "-d",
    node.engine.addressPool,
    "-j",
    "MASQUERADE",
  ]);
}

const NodeListSchema = v.array(v.looseObject({
  ID: v.string(),
  Version: v.looseObject({ Index: v.number() }),
  Spec: v.looseObject({}),
  Status: v.looseObject({ State: v.string(), Addr: v.optional(v.string()) }),
}));

async function waitForNodes(docker: DockerClient, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const nodes = await docker.json(NodeListSchema, "GET", "/nodes");
    if (nodes.filter((n) => n.Status.State === "ready").length >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the swarm did not have ${count} ready nodes within 60 s`);
}

/**
 * Gives the node a recognisable hostname label: every private engine shares this machine's
 * hostname, so constraints use `node.labels.name` rather than `node.hostname`.
 */
async function renameNode(docker: DockerClient, name: string, id?: string): Promise<void> {
  const nodes = await docker.json(NodeListSchema, "GET", "/nodes");
  const node = id ? nodes.find((n) => n.ID === id) : nodes[0];
  if (!node) throw new Error("no node to label");
  await docker.call("POST", `/nodes/${node.ID}/update`, {
    query: { version: node.Version.Index },
    json: { ...node.Spec, Labels: { name } },
  });
}

async function renameNodeAt(docker: DockerClient, worker: SwarmNode): Promise<void> {
  const nodes = await docker.json(NodeListSchema, "GET", "/nodes");
  const node = nodes.find((n) => n.Status.Addr === worker.address);
  if (!node) throw new Error(`no node at ${worker.address}`);
  await renameNode(docker, worker.name, node.ID);
}

async function sh([program = "", ...args]: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(
      `${program} ${args.join(" ")} failed (${code}): ${new TextDecoder().decode(stderr)}`,
    );
  }
}

/** Copies an image from one engine to another (`docker save | docker load`, through the API). */
export async function copyImage(from: PrivateEngine, to: PrivateEngine, image: string) {
  using source = await DockerClient.connect(from.host);
  using target = await DockerClient.connect(to.host);
  const saved = await source.request("GET", "/images/get", { query: { names: image } });
  const tar = new Uint8Array(await saved.arrayBuffer());
  const loaded = await target.request("POST", "/images/load", {
    query: { quiet: true },
    headers: { "content-type": "application/x-tar" },
    body: tar,
  });
  await loaded.body?.cancel();
}
