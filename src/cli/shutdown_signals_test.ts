import { assertEquals } from "../../tests/assert.ts";
import { waitFor } from "../../tests/_helpers.ts";
import { DUPLICATE_WINDOW_MS, installShutdownSignals } from "./shutdown_signals.ts";

Deno.test("installShutdownSignals() takes a signal within the window as the first one, a later one forces", async () => {
  let clock = 1_000;
  const seen: string[] = [];
  using signals = installShutdownSignals({
    onFirst: (signal) => seen.push(`first ${signal}`),
    onSecond: (signal) => seen.push(`second ${signal}`),
    onDuplicate: (signal, afterMs) => seen.push(`duplicate ${signal} after ${afterMs}`),
    now: () => clock,
  });
  const next = async (signal: Deno.Signal) => {
    const count = seen.length;
    Deno.kill(Deno.pid, signal);
    await waitFor(() => seen.length > count, `${signal} handled`);
  };

  await next("SIGTERM");
  assertEquals(signals.stop.aborted, true);
  clock += 5;
  await next("SIGHUP");
  clock += DUPLICATE_WINDOW_MS - 5;
  await next("SIGTERM");
  assertEquals(signals.force.aborted, false, "copies of the first signal do not force the stop");
  clock += 1;
  await next("SIGHUP");
  assertEquals(signals.force.aborted, true);
  assertEquals(seen, [
    "first SIGTERM",
    "duplicate SIGHUP after 5",
    `duplicate SIGTERM after ${DUPLICATE_WINDOW_MS}`,
    "second SIGHUP",
  ]);
});
