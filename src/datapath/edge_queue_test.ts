import { assertEquals } from "../../tests/assert.ts";
import { EdgeQueue, mergeQueues } from "./edge_queue.ts";

Deno.test("EdgeQueue.push() waits for room while its consumer is live", async () => {
  const queue = new EdgeQueue<number>(2);
  await queue.push(1);
  await queue.push(2);
  let third = false;
  const pushed = queue.push(3).then(() => third = true);
  await Promise.resolve();
  assertEquals(third, false);
  assertEquals(queue.shift(), 1);
  await pushed;
  assertEquals(third, true);
  assertEquals(queue.length, 2);
});

Deno.test("EdgeQueue drops beyond its buffer only for a consumer that is down and shares a producer", async () => {
  const queue = new EdgeQueue<number>(1);
  queue.dropWhenDown = true;
  await queue.push(1);
  const waiting = queue.push(2);
  queue.setConsumerDown(true);
  assertEquals(await waiting, false);
  assertEquals(await queue.push(3), false);
  assertEquals(queue.dropped, 2);
  assertEquals(queue.shift(), 1);
});

Deno.test("mergeQueues() keeps each queue's order and ends when all are drained", async () => {
  const a = new EdgeQueue<string>(10);
  const b = new EdgeQueue<string>(10);
  for (const item of ["a1", "a2", "a3"]) await a.push(item);
  for (const item of ["b1", "b2"]) await b.push(item);
  a.close();
  const merged: string[] = [];
  const done = (async () => {
    for await (const item of mergeQueues([a, b], new AbortController().signal)) merged.push(item);
  })();
  await b.push("b3");
  b.close();
  await done;
  assertEquals(merged.filter((x) => x.startsWith("a")), ["a1", "a2", "a3"]);
  assertEquals(merged.filter((x) => x.startsWith("b")), ["b1", "b2", "b3"]);
});
