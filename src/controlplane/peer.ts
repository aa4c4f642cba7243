/** Who is at the other end of a control plane connection, as the server sees it. */

/** The TCP peer of a call, and the server's own end of that connection. */
export interface PeerAddress {
  address: string;
  port: number;
  local: { address: string; port: number };
}

/**
 * What a caller claims to be: the ids it sent (registration) or the component of the record it
 * touches (heartbeat, unregister), and its `health_endpoint`. Where the connection alone cannot
 * tell (swarm tasks behind their node's address), identity checks the claim.
 */
export interface PeerClaim {
  ids: readonly string[];
  healthEndpoint?: string | undefined;
}

/** A caller who is no component it could be, and why (said in PERMISSION_DENIED). */
export interface PeerRefusal {
  refused: string;
}

/** The pipeline component a peer belongs to, or undefined (or a refusal) for anyone else. */
export type IdentifyPeer = (
  peer: PeerAddress,
  claim?: PeerClaim,
) => Promise<string | PeerRefusal | undefined>;
