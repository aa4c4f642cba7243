/**
 * The address swarm tasks reach the control plane at: `--control-plane-address`; else, on the
 * manager's machine, its swarm address (or, when the swarm advertises a loopback address that no
 * container reaches, the node's docker_gwbridge gateway); else, off the cluster, this machine's
 * address toward the manager. A choice no task can use refuses the run before anything starts.
 */
import type { DockerClient } from "../../docker/docker_client.ts";
import {
  createGatewayBridge,
  gatewayBridgeGateway,
  type SwarmInfo,
} from "../../docker/swarm_api.ts";
import { PreflightError } from "../orchestrator.ts";
import { isLoopback, ownAddressToward } from "./engine_locality.ts";

/** An address for the control plane, and what it is (for messages). */
export interface ControlPlaneAddress {
  readonly address: string;
  readonly origin: string;
}

const FLAG_HINT =
  "pass --control-plane-address with an address of this machine that every swarm node reaches";

/**
 * Picks the control plane's address for swarm tasks.
 * @throws {PreflightError} (exit 2) when no address tasks can reach is known.
 */
export async function chooseControlPlaneAddress(
  docker: DockerClient,
  info: SwarmInfo,
  options: { explicit: string | undefined; local: boolean },
): Promise<ControlPlaneAddress> {
  if (options.explicit) {
    if (isLoopback(options.explicit)) {
      throw new PreflightError([
        `--control-plane-address ${options.explicit} is a loopback address, which no swarm task reaches; ${FLAG_HINT}`,
      ], { exitCode: 2 });
    }
    return { address: options.explicit, origin: "--control-plane-address" };
  }
  if (options.local) {
    const nodeAddr = info.Swarm.NodeAddr;
    if (nodeAddr && !isLoopback(nodeAddr)) {
      return { address: nodeAddr, origin: "this node's swarm address" };
    }
    // `docker swarm init` on a laptop often advertises 127.0.0.1: a single node, whose tasks
    // reach it through its docker_gwbridge (made now, as the engine would, if no task ran yet).
    let gateway = await gatewayBridgeGateway(docker);
    if (!gateway) {
      await createGatewayBridge(docker);
      gateway = await gatewayBridgeGateway(docker);
    }
    if (gateway) {
      return {
        address: gateway,
        origin: `this node's docker_gwbridge gateway (the swarm advertises ${
          nodeAddr || "no address"
        }, which containers cannot reach)`,
      };
    }
    throw new PreflightError([
      `the swarm advertises ${
        nodeAddr || "no address"
      }, which tasks cannot reach flowctl at, and this node has no docker_gwbridge; ${FLAG_HINT}`,
    ], { exitCode: 2 });
  }
  const own = await ownAddressToward(docker.endpoint);
  if (own && !isLoopback(own)) {
    return { address: own, origin: "this machine's address toward the manager" };
  }
  throw new PreflightError([
    `flowctl runs off the swarm (the engine is ${docker.host}) and cannot tell which of its addresses the nodes reach; ${FLAG_HINT}`,
  ], { exitCode: 2 });
}
