/**
 * The calls the data path makes to each driven component, one pump per component: a source's
 * StreamEvents fanned out to its edges, a processor's Process fed from its merged inputs and
 * fanned out, a sink's Consume fed from its merged inputs. A call that breaks is made again once
 * the component accepts connections again (re-attach); what the broken call may have lost or a
 * source sends again is counted and reported.
 */
import type { Event } from "../controlplane/gen/flowctl/v1/event_pb.ts";
import { delay } from "../delay.ts";
import type { DrivenNode, PumpContext } from "./data_path.ts";
import { mergeQueues } from "./edge_queue.ts";
import type { EdgeCounter } from "./edge_stats.ts";

const MAX_BACKOFF_MS = 2_000;

/** Where a source's stream got to: its last Stellar cursor, and events delivered in all. */
export interface SourcePosition {
  delivered: number;
  /** The source's StreamRequest params this position was reached with. */
  params?: Readonly<Record<string, string>>;
  cursor?: { ledger: bigint; index: number };
}

/** Streams a source into its edges; on a break, resumes from its last ledger when it can. */
export async function pumpSource(node: DrivenNode, context: PumpContext): Promise<void> {
  const { id, streamParams } = node.component;
  const position = context.positionOf(id);
  // A data path restarted during the run starts where the last one had got to.
  const resumed = position.delivered > 0;
  for (let attempt = 1; !context.signal.aborted; attempt++) {
    const address = await context.waitForAddress(id);
    if (!address) return;
    const resume = attempt > 1 || resumed ? resumeParams(streamParams, position) : undefined;
    if (resume) reportResume(context, id, attempt, resume.repeated);
    const params = resume?.params ?? streamParams;
    const skipUpTo = resume?.skipUpTo;
    try {
      const stream = context.sessions.source(address).streamEvents({ params }, {
        signal: context.signal,
      });
      for await (const event of stream) {
        if (skipUpTo && !isAfter(event, skipUpTo)) continue;
        await fanOut(node.outputs, event);
        position.delivered++;
        if (event.stellarCursor) {
          position.cursor = {
            ledger: event.stellarCursor.ledgerSequence,
            index: event.stellarCursor.indexInLedger,
          };
        }
      }
      context.print(`source "${id}" stream ended after ${position.delivered} events`);
      closeAll(node.outputs);
      return;
    } catch (error) {
      if (context.signal.aborted) return;
      context.sessions.forget(address);
      context.print(`source "${id}" stream broke: ${describe(error)}; calling it again`);
      await delay(backoff(attempt), { signal: context.signal });
    }
  }
}

/** Feeds a processor from its merged inputs and fans its output out, re-attaching on breaks. */
export async function pumpProcessor(node: DrivenNode, context: PumpContext): Promise<void> {
  const { id } = node.component;
  let unconfirmed = 0;
  for (let attempt = 1; !context.signal.aborted; attempt++) {
    const address = await context.waitForAddress(id);
    if (!address) return;
    reattached(node, context, attempt, unconfirmed);
    const counts = { sent: 0, received: 0 };
    const broken = new AbortController();
    const signal = AbortSignal.any([context.signal, broken.signal]);
    try {
      const input = mergeInputs(node, signal, () => counts.sent++);
      const output = context.sessions.processor(address).process(input, { signal });
      for await (const event of output) {
        counts.received++;
        await fanOut(node.outputs, event);
      }
      context.print(`processor "${id}" finished: ${counts.received} events out`);
      closeAll(node.outputs);
      return;
    } catch (error) {
      broken.abort();
      if (context.signal.aborted) return;
      unconfirmed = Math.max(0, counts.sent - counts.received);
      detach(node, context, address, error);
      await delay(backoff(attempt), { signal: context.signal });
    }
  }
}

/** Feeds a sink from its merged inputs until they end and its Consume returns. */
export async function pumpSink(node: DrivenNode, context: PumpContext): Promise<void> {
  const { id } = node.component;
  let unconfirmed = 0;
  for (let attempt = 1; !context.signal.aborted; attempt++) {
    const address = await context.waitForAddress(id);
    if (!address) return;
    reattached(node, context, attempt, unconfirmed);
    let sent = 0;
    const broken = new AbortController();
    const signal = AbortSignal.any([context.signal, broken.signal]);
    try {
      const input = mergeInputs(node, signal, () => sent++);
      const response = await context.sessions.consumer(address).consume(input, { signal });
      const consumed = Number(response.eventsConsumed);
      context.report({ type: "sink_finished", sink: id, consumed });
      context.print(`sink "${id}" finished: it consumed ${consumed} events`);
      // A sink that returned early reads no more: its producers must not wait for it.
      for (const edge of node.inputs) edge.queue.setConsumerDown(true);
      return;
    } catch (error) {
      broken.abort();
      if (context.signal.aborted) return;
      // Consume confirms only when it returns: everything the broken call took is unconfirmed.
      unconfirmed = sent;
      detach(node, context, address, error);
      await delay(backoff(attempt), { signal: context.signal });
    }
  }
}

function mergeInputs(node: DrivenNode, signal: AbortSignal, onTake: () => void) {
  return mergeQueues(node.inputs.map((edge) => edge.queue), signal, (event, index) => {
    onTake();
    node.inputs[index]?.count(event);
  });
}

/** A consumer's call broke: its producers keep at most a buffer for it until it is back. */
function detach(node: DrivenNode, context: PumpContext, address: string, error: unknown): void {
  for (const edge of node.inputs) edge.queue.setConsumerDown(true);
  context.sessions.forget(address);
  context.print(
    `${node.component.role} "${node.component.id}" call broke: ${
      describe(error)
    }; re-attaching once it accepts connections again`,
  );
}

function reattached(
  node: DrivenNode,
  context: PumpContext,
  attempt: number,
  unconfirmed: number,
): void {
  if (attempt === 1) return;
  for (const edge of node.inputs) edge.queue.setConsumerDown(false);
  const dropped = node.inputs.reduce((sum, edge) => sum + edge.queue.dropped, 0);
  context.report({
    type: "reattached",
    component: node.component.id,
    attempt,
    unconfirmed,
    repeated: 0,
  });
  context.print(
    `${node.component.role} "${node.component.id}" re-attached (call ${attempt}): ${unconfirmed} events the broken call took were not ${
      node.component.role === "sink" ? "confirmed" : "answered"
    } (at-most-once: they may be lost); ${dropped} dropped while it was down with a full buffer`,
  );
}

function reportResume(context: PumpContext, id: string, attempt: number, repeated: number): void {
  context.report({ type: "reattached", component: id, attempt, unconfirmed: 0, repeated });
  context.print(
    repeated > 0
      ? `source "${id}" called again (call ${attempt}): its events carry no cursor, so it starts over; ${repeated} events already delivered will be sent again (at-least-once)`
      : `source "${id}" called again (call ${attempt}): resuming from its last ledger, events already delivered are skipped`,
  );
}

/**
 * The params of a source's next call: from the ledger of its last delivered event (skipping what
 * was delivered) when its events carry a Stellar cursor and it was asked with start_ledger;
 * otherwise the same request again, repeating what it delivered.
 */
export function resumeParams(
  params: Record<string, string>,
  position: SourcePosition,
): { params: Record<string, string>; skipUpTo?: SourcePosition["cursor"]; repeated: number } {
  if (position.cursor && params.start_ledger !== undefined) {
    return {
      params: { ...params, start_ledger: String(position.cursor.ledger) },
      skipUpTo: position.cursor,
      repeated: 0,
    };
  }
  return { params, repeated: position.delivered };
}

function isAfter(event: Event, cursor: NonNullable<SourcePosition["cursor"]>): boolean {
  const at = event.stellarCursor;
  if (!at) return true;
  return at.ledgerSequence > cursor.ledger ||
    (at.ledgerSequence === cursor.ledger && at.indexInLedger > cursor.index);
}

/**
 * Hands `event` to every edge whose consumer accepts its type, in turn; a live consumer's full
 * buffer makes this wait.
 */
async function fanOut(edges: readonly EdgeCounter[], event: Event): Promise<void> {
  for (const edge of edges) if (edge.admits(event)) await edge.queue.push(event);
}

function closeAll(edges: readonly EdgeCounter[]): void {
  for (const edge of edges) edge.queue.close();
}

function backoff(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt - 1, 5), MAX_BACKOFF_MS);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
