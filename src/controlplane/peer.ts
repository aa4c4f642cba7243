/** Who is at the other end of a control plane connection, as the server sees it. */

/** The TCP peer of a call, and the server's own end of that connection. */
export interface PeerAddress {
  address: string;
  port: number;
  local: { address: string; port: number };
}

/** The pipeline component a peer belongs to, or undefined for anyone else. */
export type IdentifyPeer = (peer: PeerAddress) => Promise<string | undefined>;
