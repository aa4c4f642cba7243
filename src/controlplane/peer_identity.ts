/**
 * Tells which pipeline component a control plane caller is, from the TCP connection alone (the
 * components send no token): in process mode the caller's socket must be held by a process of
 * the component's own process tree; in container mode the caller's address must be the
 * component's container address on the pipeline network.
 */
import { delay } from "../delay.ts";
import { addressKey } from "../proc/tcp_sockets.ts";
import { findPeerComponent } from "../proc/peer_process.ts";
import type { IdentifyPeer } from "./peer.ts";

/** What the orchestrator knows of one running component. */
export interface RunningComponent {
  id: string;
  /** Root process of the component (process mode). */
  pid?: number;
  pidStartTime?: number;
  containerId?: string;
  /** The container's address on the run's network (container mode). */
  address?: string;
}

export interface IdentifyComponentsOptions {
  orchestrator: "process" | "container";
  /** The components as they run now (restarts change pids and containers). */
  components(): readonly RunningComponent[];
}

/**
 * How long a caller that is no component yet is re-checked while some component is still
 * starting: a component can call before its orchestrator has handed over its pid or container.
 */
const STARTING_PATIENCE_MS = 1000;

/** An IdentifyPeer for the components of one run. */
export function identifyComponents(options: IdentifyComponentsOptions): IdentifyPeer {
  const once = options.orchestrator === "process"
    ? identifyProcess(options)
    : identifyContainer(options);
  return async (peer) => {
    const deadline = Date.now() + STARTING_PATIENCE_MS;
    while (true) {
      const component = await once(peer);
      const starting = options.components().some((c) =>
        c.pid === undefined && c.containerId === undefined
      );
      if (component !== undefined || !starting || Date.now() >= deadline) return component;
      await delay(50);
    }
  };
}

function identifyProcess(options: IdentifyComponentsOptions): IdentifyPeer {
  return (peer) =>
    findPeerComponent(
      peer,
      peer.local,
      options.components().flatMap((c) =>
        c.pid !== undefined
          ? [{
            componentId: c.id,
            pid: c.pid,
            ...(c.pidStartTime !== undefined ? { startTime: c.pidStartTime } : {}),
          }]
          : []
      ),
    );
}

function identifyContainer(options: IdentifyComponentsOptions): IdentifyPeer {
  return (peer) => {
    const key = addressKey(peer.address);
    if (key === undefined) return Promise.resolve(undefined);
    const component = options.components().find((c) =>
      c.address !== undefined && addressKey(c.address) === key
    );
    return Promise.resolve(component?.id);
  };
}
