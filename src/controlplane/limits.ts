/**
 * What one caller may store in the control plane: bounded messages, registrations and metrics,
 * so a run's memory stays small and every listing fits a stock client's 4 MiB limit.
 */
import type { RegistrationRequest } from "./registry.ts";

/** Largest request message, before it is parsed (RESOURCE_EXHAUSTED above it). */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
/** Entries of metadata, of each event type list, and of a heartbeat's metrics. */
export const MAX_ENTRIES = 64;
/** Characters of all strings of one registration together, and of one heartbeat's metrics. */
export const MAX_RECORD_CHARS = 16 * 1024;

/** Why `request` is too large to keep, or undefined when it fits. */
export function registrationTooLarge(request: RegistrationRequest): string | undefined {
  const lists: [string, number][] = [
    ["metadata", Object.keys(request.metadata).length],
    ["input_event_types", request.inputEventTypes.length],
    ["output_event_types", request.outputEventTypes.length],
  ];
  for (const [name, count] of lists) {
    if (count > MAX_ENTRIES) return `${name} has ${count} entries (at most ${MAX_ENTRIES})`;
  }
  const strings = [
    request.componentId,
    request.serviceId,
    request.infoId,
    request.healthEndpoint,
    request.name,
    request.description,
    request.version,
    request.endpoint,
    request.type,
    ...request.inputEventTypes,
    ...request.outputEventTypes,
    ...Object.entries(request.metadata).flat(),
  ];
  const chars = strings.reduce((sum, s) => sum + (s?.length ?? 0), 0);
  return chars > MAX_RECORD_CHARS
    ? `it holds ${chars} characters of strings (at most ${MAX_RECORD_CHARS})`
    : undefined;
}

/** Why heartbeat `metrics` are too large to keep, or undefined when they fit. */
export function metricsTooLarge(metrics: Record<string, string>): string | undefined {
  const entries = Object.entries(metrics);
  if (entries.length > MAX_ENTRIES) {
    return `metrics has ${entries.length} entries (at most ${MAX_ENTRIES})`;
  }
  const chars = entries.reduce((sum, [k, v]) => sum + k.length + v.length, 0);
  return chars > MAX_RECORD_CHARS
    ? `metrics hold ${chars} characters (at most ${MAX_RECORD_CHARS})`
    : undefined;
}

/**
 * Metrics as both services keep them: text, without values that are not finite numbers
 * (NaN, ±Infinity), whichever service they came from.
 */
export function finiteMetrics(metrics: Record<string, string | number>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(metrics)) {
    if (typeof value === "number" ? Number.isFinite(value) : !NOT_FINITE.test(value.trim())) {
      kept[key] = String(value);
    }
  }
  return kept;
}

const NOT_FINITE = /^[+-]?(nan|inf|infinity)$/i;
