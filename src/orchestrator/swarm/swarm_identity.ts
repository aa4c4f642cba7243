/**
 * Which component a control plane caller is, in swarm mode. A task's own address (on
 * docker_gwbridge or the run's overlay) names it outright. A task on another node calls from its
 * node's address (the node masquerades its tasks' traffic), which every task there shares: such
 * a caller is the component it claims (COMPONENT_ID/FLOWCTL_COMPONENT_ID and the other ids it
 * sends, or the port of its health_endpoint) when that component has a running task on the
 * caller's node; alone on its node, it is that node's one component.
 *
 * What this proves: the caller runs on a node where the component it claims runs now. What it
 * cannot: that it IS that task: any process on that node (another component, another container,
 * the node itself) may claim any component that runs there.
 */
import type { PeerClaim, PeerRefusal } from "../../controlplane/peer.ts";

/** A component of the run, as identity needs it: its id and the ports it may name as health. */
export interface ClaimableComponent {
  readonly id: string;
  readonly healthPorts: readonly number[];
}

/** One running task, as identity needs it. */
export interface TaskPresence {
  readonly component: string;
  readonly nodeName: string;
  readonly nodeAddress: string | undefined;
  readonly bridgeAddress: string | undefined;
  readonly overlayAddress: string | undefined;
  /**
   * On flowctl's own machine: it calls from its docker_gwbridge address, so the machine's own
   * address (any local process) never stands for it.
   */
  readonly local: boolean;
}

/**
 * The component a caller at `address` is, a refusal saying why its claim does not fit, or
 * undefined when it comes from no task of this run at all.
 */
export function identifySwarmCaller(
  address: string,
  claim: PeerClaim | undefined,
  tasks: readonly TaskPresence[],
  components: readonly ClaimableComponent[],
): string | PeerRefusal | undefined {
  const caller = plainAddress(address);
  const own = tasks.find((t) =>
    [t.bridgeAddress, t.overlayAddress].some((a) => a !== undefined && plainAddress(a) === caller)
  );
  if (own) return own.component;
  const onNode = tasks.filter((t) =>
    !t.local && t.nodeAddress && plainAddress(t.nodeAddress) === caller
  );
  if (onNode.length === 0) return undefined;
  const candidates = [...new Set(onNode.map((t) => t.component))];
  const node = `node "${onNode[0]?.nodeName}" (${caller})`;
  const declared = new Set(components.map((c) => c.id));
  const named = claim?.ids.find((id) => declared.has(id));
  const port = portOf(claim?.healthEndpoint);
  const byPort = port === undefined
    ? []
    : components.filter((c) => candidates.includes(c.id) && c.healthPorts.includes(port)).map((c) =>
      c.id
    );
  const claimed = named ?? (byPort.length === 1 ? byPort[0] : undefined);
  if (claimed !== undefined) {
    if (candidates.includes(claimed)) return claimed;
    return {
      refused: `comes from ${node}, where component "${claimed}" has no running task (tasks of ${
        list(candidates)
      } run there)`,
    };
  }
  if (candidates.length === 1) return candidates[0];
  return {
    refused: `comes from ${node}, which runs tasks of ${
      list(candidates)
    }, and names none of them: a component there must send its COMPONENT_ID (or a health_endpoint on its own health port)`,
  };
}

function list(ids: readonly string[]): string {
  return ids.map((id) => `"${id}"`).join(", ");
}

/** `10.0.0.2` for `::ffff:10.0.0.2`, the form an IPv4 caller has on a dual-stack socket. */
function plainAddress(address: string): string {
  return address.replace(/^::ffff:/i, "");
}

/** The port of `http://host:8088/health`, `host:8088` or `:8088`. */
function portOf(endpoint: string | undefined): number | undefined {
  if (!endpoint) return undefined;
  const match = /:(\d{1,5})(?:\/|$)/.exec(endpoint.replace(/^[a-z]+:\/\//, ""));
  const port = match ? Number(match[1]) : NaN;
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
}
