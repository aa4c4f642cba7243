/** A minimal ustar writer for image build contexts. */

export interface TarEntry {
  path: string;
  /** File contents; omitted for a folder. */
  data?: Uint8Array;
  mode?: number;
}

const encoder = new TextEncoder();

/** Packs `entries` into a tar archive. @throws {RangeError} for a path too long for ustar. */
export function createTar(entries: readonly TarEntry[]): Uint8Array<ArrayBuffer> {
  const blocks: Uint8Array[] = [];
  for (const entry of entries) {
    const isDir = entry.data === undefined;
    const header = new Uint8Array(512);
    const [prefix, name] = splitPath(
      isDir && !entry.path.endsWith("/") ? `${entry.path}/` : entry.path,
    );
    writeString(header, 0, 100, name);
    writeOctal(header, 100, 8, entry.mode ?? (isDir ? 0o755 : 0o644));
    writeOctal(header, 108, 8, 0);
    writeOctal(header, 116, 8, 0);
    writeOctal(header, 124, 12, entry.data?.length ?? 0);
    writeOctal(header, 136, 12, 0);
    header.fill(32, 148, 156); // checksum field counts as spaces
    header[156] = isDir ? 53 : 48; // '5' folder, '0' file
    writeString(header, 257, 6, "ustar");
    writeString(header, 263, 2, "00");
    writeString(header, 345, 155, prefix);
    const sum = header.reduce((total, byte) => total + byte, 0);
    writeString(header, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
    blocks.push(header);
    if (entry.data) {
      blocks.push(entry.data);
      const padding = (512 - (entry.data.length % 512)) % 512;
      if (padding) blocks.push(new Uint8Array(padding));
    }
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((total, block) => total + block.length, 0));
  let offset = 0;
  for (const block of blocks) {
    out.set(block, offset);
    offset += block.length;
  }
  return out;
}

function splitPath(path: string): [string, string] {
  if (encoder.encode(path).length <= 100) return ["", path];
  const cut = path.lastIndexOf("/", path.length - 2);
  const prefix = path.slice(0, cut);
  const name = path.slice(cut + 1);
  if (cut <= 0 || encoder.encode(prefix).length > 155 || encoder.encode(name).length > 100) {
    throw new RangeError(`path "${path}" is too long for a tar archive`);
  }
  return [prefix, name];
}

function writeString(buffer: Uint8Array, offset: number, length: number, text: string): void {
  buffer.set(encoder.encode(text).subarray(0, length), offset);
}

function writeOctal(buffer: Uint8Array, offset: number, length: number, value: number): void {
  writeString(buffer, offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
}
