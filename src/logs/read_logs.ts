/** Reads component log files back as timed lines, for `flowctl logs`. */

export interface LogLine {
  component: string;
  /** When flowctl wrote the line (epoch ms); 0 when the file has no index. */
  time: number;
  text: string;
}

/**
 * Reads `path` (and its `.idx`) from byte `from`; returns whole lines and the offset after them.
 */
export async function readLogLines(
  component: string,
  path: string,
  from = 0,
): Promise<{ lines: LogLine[]; next: number }> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch {
    return { lines: [], next: from };
  }
  const index = await readIndex(`${path}.idx`);
  const end = bytes.lastIndexOf(10) + 1;
  if (end <= from) return { lines: [], next: from };
  const lines: LogLine[] = [];
  const decoder = new TextDecoder();
  let start = from;
  let chunk = index.findIndex(([offset]) => offset > from);
  while (start < end) {
    const newline = bytes.indexOf(10, start);
    while (chunk >= 0 && chunk < index.length && (index[chunk]?.[0] ?? 0) <= start) chunk++;
    const time = chunk >= 0 && chunk < index.length
      ? index[chunk]?.[1] ?? 0
      : index.at(-1)?.[1] ?? 0;
    lines.push({ component, time, text: decoder.decode(bytes.subarray(start, newline)) });
    start = newline + 1;
  }
  return { lines, next: end };
}

async function readIndex(path: string): Promise<[number, number][]> {
  try {
    return (await Deno.readTextFile(path)).split("\n").filter(Boolean).map((line) => {
      const [offset = "0", time = "0"] = line.split(" ");
      return [Number(offset), Number(time)] as [number, number];
    });
  } catch {
    return [];
  }
}

/** Merges lines of several components by time, keeping each file's order. */
export function mergeByTime(groups: readonly LogLine[][]): LogLine[] {
  return groups.flatMap((lines, group) => lines.map((line, order) => ({ line, group, order })))
    .sort((a, b) => a.line.time - b.line.time || a.group - b.group || a.order - b.order)
    .map(({ line }) => line);
}
