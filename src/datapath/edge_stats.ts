/** Counters of one driven edge, and the size of an event on the wire. */
import type { Event } from "../controlplane/gen/flowctl/v1/event_pb.ts";
import type { DataPathReport } from "./report.ts";
import type { EdgeQueue } from "./edge_queue.ts";

export class EdgeCounter {
  readonly from: string;
  readonly to: string;
  readonly queue: EdgeQueue<Event>;
  /**
   * The event types the consumer takes: a sink's registered `input_event_types`, as the Go
   * flowctl filters its sinks (an event's `type` must equal one; an empty list takes any type).
   */
  readonly accepted: readonly string[];
  events = 0;
  bytes = 0;
  /** Events not sent to the consumer because their type is not one it accepts. */
  filtered = 0;
  #lastEvents = 0;
  #lastBytes = 0;
  #lastAt = performance.now();

  constructor(
    from: string,
    to: string,
    queue: EdgeQueue<Event>,
    accepted: readonly string[] = [],
  ) {
    this.from = from;
    this.to = to;
    this.queue = queue;
    this.accepted = accepted;
  }

  /** Whether `event` goes to the consumer; one it does not accept is counted as filtered. */
  admits(event: Event): boolean {
    if (this.accepted.length === 0 || this.accepted.includes(event.type)) return true;
    this.filtered++;
    return false;
  }

  /** Counts an event handed to the consumer. */
  count(event: Event): void {
    this.events++;
    this.bytes += eventSize(event);
  }

  /** The edge_stats report since the last one. */
  sample(): DataPathReport {
    const now = performance.now();
    const seconds = Math.max((now - this.#lastAt) / 1000, 0.001);
    const report: DataPathReport = {
      type: "edge_stats",
      from: this.from,
      to: this.to,
      events: this.events,
      bytes: this.bytes,
      eventsPerSecond: Math.round((this.events - this.#lastEvents) / seconds),
      bytesPerSecond: Math.round((this.bytes - this.#lastBytes) / seconds),
      dropped: this.queue.dropped,
      filtered: this.filtered,
    };
    this.#lastEvents = this.events;
    this.#lastBytes = this.bytes;
    this.#lastAt = now;
    return report;
  }
}

/** The encoded size of `event` in bytes (strings counted as UTF-16 length: exact for ASCII). */
export function eventSize(event: Event): number {
  let size = field(event.id.length) + field(event.type.length) +
    field(event.payload.byteLength) + field(event.sourceComponentId.length) +
    field(event.contentType.length);
  for (const [key, value] of Object.entries(event.metadata)) {
    size += field(field(key.length) + field(value.length));
  }
  if (event.timestamp) size += field(varint(Number(event.timestamp.seconds)) + 6);
  if (event.stellarCursor) {
    size += field(
      1 + varint(Number(event.stellarCursor.ledgerSequence)) + 1 +
        varint(event.stellarCursor.indexInLedger),
    );
  }
  return size;
}

/** A length-delimited field of `length` bytes: tag, length, content (empty ones are omitted). */
function field(length: number): number {
  return length === 0 ? 0 : 1 + varint(length) + length;
}

function varint(value: number): number {
  let bytes = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    bytes++;
  }
  return bytes;
}
