/** Kubernetes resource quantities (`500m`, `2`, `512Mi`, `1Gi`) in the Engine API's units. */

const MEMORY_FACTORS: Record<string, number> = {
  "": 1,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * CPUs as nano-CPUs: `"500m"` → 5e8, `"2"` → 2e9, `0.5` → 5e8.
 * @throws {RangeError} for text that is not a CPU quantity.
 */
export function parseCpu(value: string | number): number {
  const text = String(value);
  const match = /^(\d+(?:\.\d+)?|\.\d+)(m?)$/.exec(text);
  if (!match) throw new RangeError(`invalid CPU amount "${text}"`);
  const cpus = Number(match[1]) / (match[2] ? 1000 : 1);
  return Math.round(cpus * 1e9);
}

/**
 * Memory in bytes: `"512Mi"` → 536870912, `"1G"` → 1e9, `"1e3"` → 1000, `1024` → 1024.
 * @throws {RangeError} for text that is not a memory quantity.
 */
export function parseMemory(value: string | number): number {
  const text = String(value);
  const match = /^(\d+(?:\.\d+)?)(?:([KMGTPE]i?|k)|e(\d+))?$/.exec(text);
  if (!match) throw new RangeError(`invalid memory amount "${text}"`);
  const factor = match[3] !== undefined ? 10 ** Number(match[3]) : MEMORY_FACTORS[match[2] ?? ""];
  return Math.round(Number(match[1]) * (factor ?? 1));
}
