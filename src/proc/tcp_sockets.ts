/**
 * Finds a TCP socket in /proc/net/tcp and /proc/net/tcp6 (Linux) by its two ends, for telling
 * which local process holds the other end of a connection.
 */

/** One end of a TCP connection. */
export interface TcpEndpoint {
  address: string;
  port: number;
}

/** A row of /proc/net/tcp{,6}: addresses as 16 bytes in hex (IPv4 as ::ffff:a.b.c.d). */
export interface TcpSocketRow {
  local: { address: string; port: number };
  remote: { address: string; port: number };
  /** The kernel's TCP state in hex: `0A` is LISTEN, `01` ESTABLISHED. */
  state: string;
  inode: number;
}

/**
 * The inode of the socket whose local end is `local` and remote end `remote`, in the network
 * namespace of this process; undefined when there is none (or no /proc).
 */
export async function findTcpSocketInode(
  local: TcpEndpoint,
  remote: TcpEndpoint,
): Promise<number | undefined> {
  const localKey = addressKey(local.address);
  const remoteKey = addressKey(remote.address);
  if (localKey === undefined || remoteKey === undefined) return undefined;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = await Deno.readTextFile(table);
    } catch {
      continue;
    }
    const row = parseTcpTable(text).find((r) =>
      r.local.port === local.port && r.remote.port === remote.port &&
      r.local.address === localKey && r.remote.address === remoteKey && r.inode !== 0
    );
    if (row) return row.inode;
  }
  return undefined;
}

/** Parses the text of /proc/net/tcp or /proc/net/tcp6. Rows it cannot read are skipped. */
export function parseTcpTable(text: string): TcpSocketRow[] {
  const rows: TcpSocketRow[] = [];
  for (const line of text.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = parseHexEndpoint(fields[1]);
    const remote = parseHexEndpoint(fields[2]);
    const inode = Number(fields[9]);
    const state = fields[3] ?? "";
    if (local && remote && Number.isInteger(inode)) rows.push({ local, remote, state, inode });
  }
  return rows;
}

/** `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6); words are in host byte order. */
function parseHexEndpoint(text: string | undefined): { address: string; port: number } | undefined {
  const match = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/.exec(text ?? "");
  if (!match) return undefined;
  const hex = match[1]!;
  const bytes: number[] = [];
  for (let word = 0; word < hex.length; word += 8) {
    // Each 32-bit word is stored little-endian (x86, arm64 as Linux runs them).
    for (let i = 6; i >= 0; i -= 2) bytes.push(parseInt(hex.slice(word + i, word + i + 2), 16));
  }
  const full = bytes.length === 4 ? [...IPV4_MAPPED, ...bytes] : bytes;
  return { address: toHex(full), port: parseInt(match[2]!, 16) };
}

const IPV4_MAPPED = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** `127.0.0.1`, `::ffff:127.0.0.1` or `::1` as 16 bytes in hex, as parseTcpTable writes them. */
export function addressKey(address: string): string | undefined {
  const text = address.replace(/%.*$/, "").replace(/^\[|\]$/g, "");
  const v4 = parseIpv4(text);
  if (v4) return toHex([...IPV4_MAPPED, ...v4]);
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (const [i, piece] of pieces.entries()) {
      const embedded = i === pieces.length - 1 ? parseIpv4(piece) : undefined;
      if (embedded) out.push(embedded[0]! << 8 | embedded[1]!, embedded[2]! << 8 | embedded[3]!);
      else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) out.push(parseInt(piece, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const words = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return toHex(words.flatMap((w) => [w >> 8, w & 0xff]));
}

function parseIpv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) < 256)) {
    return undefined;
  }
  return parts.map(Number);
}

function toHex(bytes: number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join("");
}
