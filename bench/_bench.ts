/** Helpers shared by the benchmarks: pipelines of busybox httpd components, timing, stats. */
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const MAIN = `${ROOT}main.ts`;

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function freePorts(count: number): number[] {
  const listeners = Array.from(
    { length: count },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const listener of listeners) listener.close();
  return ports;
}

/** `count` busybox httpd components in `levels` levels (each level depends on the previous). */
export async function httpdPipeline(name: string, count: number, levels: number, extra = "") {
  const dir = await Deno.makeTempDir({ prefix: `flowctl-bench-${name}-` });
  await Deno.mkdir(`${dir}/www`);
  await Deno.writeTextFile(`${dir}/www/health`, "ok\n");
  const ports = freePorts(count);
  const perLevel = Math.ceil(count / levels);
  const components = ports.map((port, i) => {
    const level = Math.floor(i / perLevel);
    return { id: `c${i}`, port, level };
  });
  const yaml = [
    `apiVersion: flowctl/v1\nkind: Pipeline\nmetadata:\n  name: ${name}\nspec:\n  processors:`,
    ...components.map((c) => {
      const inputs = components.filter((o) => o.level === c.level - 1).map((o) => o.id);
      return `    - id: ${c.id}\n      command: [busybox, httpd, -f, -p, "127.0.0.1:${c.port}", -h, ${dir}/www]\n` +
        `      health: { http: { path: /health, port: ${c.port} }${extra} }\n` +
        (inputs.length ? `      inputs: [${inputs.join(", ")}]\n` : "");
    }),
  ].join("\n") + "\n";
  await Deno.writeTextFile(`${dir}/pipeline.yaml`, yaml);
  // The same start order as a hand-written script: each level started, then polled with curl.
  const script = [
    "#!/usr/bin/env bash",
    "set -u",
    "pids=()",
    "trap 'kill ${pids[@]} 2>/dev/null' EXIT",
  ];
  for (let level = 0; level < levels; level++) {
    const members = components.filter((c) => c.level === level);
    for (const c of members) {
      script.push(`busybox httpd -f -p 127.0.0.1:${c.port} -h ${dir}/www & pids+=($!)`);
    }
    for (const c of members) {
      script.push(
        `until curl -sf -o /dev/null http://127.0.0.1:${c.port}/health; do sleep 0.01; done`,
      );
    }
  }
  script.push('echo "all healthy"', "wait");
  await Deno.writeTextFile(`${dir}/start.sh`, script.join("\n") + "\n");
  return { dir, file: `${dir}/pipeline.yaml`, script: `${dir}/start.sh`, components };
}

/**
 * Spawns a command and resolves with the ms until its stdout contains `text`, and until it
 * contained each of `options.marks` (seen earlier); the command keeps running.
 */
export async function timeUntilLine(
  command: string,
  args: string[],
  text: string,
  options: { env?: Record<string, string>; marks?: string[] } = {},
): Promise<{ ms: number; marks: Record<string, number>; child: Deno.ChildProcess }> {
  const start = performance.now();
  const child = new Deno.Command(command, {
    args,
    stdout: "piped",
    stderr: "null",
    stdin: "null",
    env: { NO_COLOR: "1", ...options.env },
  }).spawn();
  const decoder = new TextDecoder();
  const marks: Record<string, number> = {};
  let seen = "";
  const reader = child.stdout.getReader();
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`"${command}" ended before printing "${text}": ${seen}`);
    seen += decoder.decode(value, { stream: true });
    for (const mark of options.marks ?? []) {
      if (marks[mark] === undefined && seen.includes(mark)) marks[mark] = performance.now() - start;
    }
    if (seen.includes(text)) break;
  }
  const ms = performance.now() - start;
  reader.releaseLock();
  child.stdout.pipeTo(new WritableStream()).catch(() => {});
  return { ms, marks, child };
}

/**
 * Starts `flowctl run <file>` (control plane on a free port, logs in `logDir`, plus `extra`) and
 * resolves once its output shows `text`, with the time that took.
 */
export function startFlowctl(
  file: string,
  logDir: string,
  extra: string[] = [],
  text = "Pipeline started successfully",
  marks: string[] = [],
): Promise<{ ms: number; marks: Record<string, number>; child: Deno.ChildProcess }> {
  const args = flowctlArgs("run", file, ...extra, "--control-plane-port", "0", "--log-dir", logDir);
  return timeUntilLine(Deno.execPath(), args, text, { marks });
}

export function flowctlArgs(...args: string[]): string[] {
  return ["run", "-A", "--quiet", MAIN, ...args];
}

export function report(name: string, figures: Record<string, string | number>): void {
  console.log(`${name}: ${Object.entries(figures).map(([k, v]) => `${k}=${v}`).join("  ")}`);
}
