/**
 * The example processor speaks the upstream ttp-processor wire: a stock @grpc/grpc-js client
 * under Node, built only from examples/ttp/proto, calls
 * token_transfer_service.EventService/GetTTPEvents and reads token_transfer.TokenTransferEvent
 * messages that carry the datalake's payments.
 */
import { assert, assertEquals } from "./assert.ts";
import { freePort, isAlive, ROOT, waitFor } from "./_helpers.ts";

const EXAMPLE = `${ROOT}examples/ttp`;

// Runs under Node from tests/interop (for its grpc-js and proto-loader), with nothing but the
// example's .proto files. Prints one JSON line: the method path, the events, how the call ended.
const CLIENT = `
"use strict";
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");
const [endpoint, protoDir, start, end, want, accounts] = process.argv.slice(1);
const definition = protoLoader.loadSync("event_service/event_service.proto", {
  keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
  includeDirs: [protoDir],
});
const EventService = grpc.loadPackageDefinition(definition).token_transfer_service.EventService;
const client = new EventService(endpoint, grpc.credentials.createInsecure());
const events = [];
let printed = false;
function done(outcome) {
  if (printed) return;
  printed = true;
  console.log(JSON.stringify({ path: EventService.service.GetTTPEvents.path, outcome, events }));
  client.close();
}
const call = client.GetTTPEvents(
  { start_ledger: Number(start), end_ledger: Number(end), account_ids: accounts.split(",").filter(Boolean) },
  { deadline: Date.now() + 20000 },
);
call.on("data", (event) => {
  events.push(event);
  if (events.length === Number(want)) call.cancel();
});
call.on("end", () => done("ended"));
call.on("error", (error) =>
  done(error.code === grpc.status.CANCELLED ? "cancelled" : \`error \${error.code} \${error.details}\`)
);
`;

// deno-lint-ignore no-explicit-any
type Json = any;

interface Fixture {
  sequence: number;
  close_time: string;
  transactions: {
    hash: string;
    payments: { from: string; to: string; asset: string; amount: string }[];
  }[];
}

async function readDatalake(): Promise<Fixture[]> {
  const ledgers: Fixture[] = [];
  for await (const entry of Deno.readDir(`${EXAMPLE}/datalake`)) {
    if (entry.name.endsWith(".json")) {
      ledgers.push(JSON.parse(await Deno.readTextFile(`${EXAMPLE}/datalake/${entry.name}`)));
    }
  }
  return ledgers.sort((a, b) => a.sequence - b.sequence);
}

/** One line per event, from the fields a consumer reads, so a mismatch shows which one. */
function describe(event: Json): string {
  const { meta } = event;
  const body = event[event.event];
  const asset = body.asset.asset_type === "native"
    ? "native"
    : `${body.asset.issued_asset.asset_code}:${body.asset.issued_asset.issuer}`;
  return [
    `ledger=${meta.ledger_sequence}`,
    `closed_at=${meta.closed_at.seconds}.${meta.closed_at.nanos}`,
    `tx=${meta.tx_hash}`,
    `at=${meta.transaction_index}.${meta.operation_index}`,
    `contract=${JSON.stringify(meta.contract_address)}`,
    event.event,
    `from=${body.from ?? "-"}`,
    `to=${body.to ?? "-"}`,
    `amount=${body.amount}`,
    `asset=${asset}`,
  ].join(" ");
}

/** What the datalake's payments become: transfers, or mints and burns at the issuer. */
function expected(ledgers: Fixture[]): string[] {
  return ledgers.flatMap((ledger) =>
    ledger.transactions.flatMap((tx, t) =>
      tx.payments.map((payment, p) => {
        const issuer = payment.asset === "XLM" ? "" : payment.asset.split(":")[1];
        const kind = payment.from === issuer ? "mint" : payment.to === issuer ? "burn" : "transfer";
        return [
          `ledger=${ledger.sequence}`,
          `closed_at=${Date.parse(ledger.close_time) / 1000}.0`,
          `tx=${tx.hash}`,
          `at=${t + 1}.${p + 1}`,
          `contract=""`,
          kind,
          `from=${kind === "mint" ? "-" : payment.from}`,
          `to=${kind === "burn" ? "-" : payment.to}`,
          `amount=${payment.amount}`,
          `asset=${payment.asset === "XLM" ? "native" : payment.asset}`,
        ].join(" ");
      })
    )
  );
}

/** An example component running without flowctl; disposal stops it with SIGTERM. */
interface RunningComponent extends AsyncDisposable {
  pid: number;
}

/** Starts an example component straight from its source, without flowctl. */
function startComponent(main: string, env: Record<string, string>): RunningComponent {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", main],
    cwd: EXAMPLE,
    env: { ...env, ENABLE_FLOWCTL: "false", NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  return {
    pid: child.pid,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch (error) {
        if (!(error instanceof TypeError)) throw error; // already exited
      }
      await child.status;
      await child.stderr.cancel();
    },
  };
}

async function healthy(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health`);
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

async function getTTPEvents(
  endpoint: string,
  start: number,
  end: number,
  { want = 0, accounts = [] as string[] } = {},
): Promise<{ path: string; outcome: string; events: Json[] }> {
  const { code, stdout, stderr } = await new Deno.Command("node", {
    args: [
      "-e",
      CLIENT,
      endpoint,
      `${EXAMPLE}/proto`,
      String(start),
      String(end),
      String(want),
      accounts.join(","),
    ],
    cwd: `${ROOT}tests/interop`,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

Deno.test("example processor: a stock grpc-js client from the example's protos gets the datalake's events on the upstream wire", async (t) => {
  const [sourceGrpc, sourceHealth, grpcPort, healthPort] = [
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ];
  const endpoint = `127.0.0.1:${grpcPort}`;
  let pids = { source: 0, processor: 0 };
  {
    // Declared in this order, so the processor is stopped first.
    await using source = startComponent("components/source/main.ts", {
      GRPC_PORT: String(sourceGrpc),
      HEALTH_PORT: String(sourceHealth),
    });
    await using processor = startComponent("components/processor/main.ts", {
      GRPC_PORT: String(grpcPort),
      HEALTH_PORT: String(healthPort),
      LIVE_SOURCE_ENDPOINT: `127.0.0.1:${sourceGrpc}`,
    });
    pids = { source: source.pid, processor: processor.pid };
    await waitFor(
      async () => await healthy(sourceHealth) && await healthy(healthPort),
      "source and processor healthy",
      30_000,
    );
    const ledgers = await readDatalake();

    await t.step("a bounded range streams its ledgers' events in order, then ends", async () => {
      const all = await getTTPEvents(endpoint, 1, ledgers.at(-1)!.sequence);
      assertEquals(all.path, "/token_transfer_service.EventService/GetTTPEvents");
      assertEquals(all.outcome, "ended");
      assertEquals(all.events.map(describe), expected(ledgers));

      // The upstream field names, as an upstream consumer's generated code reads them.
      const first = all.events[0];
      assertEquals(first.meta.ledger_sequence, 1);
      assertEquals(first.meta.closed_at, { seconds: "1793491260", nanos: 0 });
      assertEquals(first.meta.tx_hash, "a302da3294ef556a");
      assertEquals([first.meta.transaction_index, first.meta.operation_index], [1, 1]);
      assertEquals(first.event, "transfer");
      assertEquals(first.transfer.from, "GCAROL");
      assertEquals(first.transfer.to, "GERIN");
      assertEquals(first.transfer.amount, "91.07");
      assertEquals(first.transfer.asset.issued_asset, { asset_code: "USDC", issuer: "GCENTRE" });
      const native = all.events.find((e: Json) => e.transfer?.asset.asset_type === "native");
      assertEquals(native?.transfer.asset.native, true);
      assertEquals(all.events.map((e: Json) => e.event).filter((k: string) => k !== "transfer"), [
        "mint",
        "burn",
      ]);
    });

    await t.step("start_ledger and end_ledger bound the stream, both inclusive", async () => {
      const some = await getTTPEvents(endpoint, 2, 3);
      assertEquals(some.outcome, "ended");
      assertEquals(
        some.events.map(describe),
        expected(ledgers.filter((l) => l.sequence >= 2 && l.sequence <= 3)),
      );
    });

    await t.step("account_ids keeps the events that name one of them", async () => {
      const accounts = ["GERIN", "GALICE"];
      const some = await getTTPEvents(endpoint, 1, ledgers.at(-1)!.sequence, { accounts });
      assertEquals(some.outcome, "ended");
      const named = expected(ledgers).filter((line) =>
        accounts.some((a) => line.includes(` from=${a} `) || line.includes(` to=${a} `))
      );
      assert(named.length > 0 && named.length < expected(ledgers).length);
      assertEquals(some.events.map(describe), named);
    });

    await t.step("end_ledger below start_ledger is a live stream that does not end", async () => {
      const last = ledgers.at(-1)!;
      const want = expected([last]);
      const live = await getTTPEvents(endpoint, last.sequence, 1, { want: want.length });
      assertEquals(live.outcome, "cancelled", "still streaming when the client hung up");
      assertEquals(live.events.map(describe), want);
    });
  }
  assert(!isAlive(pids.processor) && !isAlive(pids.source), "both components stopped");
});

// A live-stream client that prints "event" per event as it comes, then how the call ended.
const LIVE_CLIENT = `
"use strict";
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");
const [endpoint, protoDir] = process.argv.slice(1);
const definition = protoLoader.loadSync("event_service/event_service.proto", {
  keepCase: true, defaults: true, oneofs: true, includeDirs: [protoDir],
});
const EventService = grpc.loadPackageDefinition(definition).token_transfer_service.EventService;
const client = new EventService(endpoint, grpc.credentials.createInsecure());
const call = client.GetTTPEvents({ start_ledger: 1, end_ledger: 0, account_ids: [] });
call.on("data", () => console.log("event"));
call.on("end", () => { console.log("outcome ended"); client.close(); });
call.on("error", (error) => { console.log(\`outcome \${error.code} \${error.details}\`); client.close(); });
`;

Deno.test("example processor: a live stream ends with UNAVAILABLE when the processor shuts down", async () => {
  const [sourceGrpc, sourceHealth, grpcPort, healthPort] = [
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ];
  await using _source = startComponent("components/source/main.ts", {
    GRPC_PORT: String(sourceGrpc),
    HEALTH_PORT: String(sourceHealth),
  });
  await using processor = startComponent("components/processor/main.ts", {
    GRPC_PORT: String(grpcPort),
    HEALTH_PORT: String(healthPort),
    LIVE_SOURCE_ENDPOINT: `127.0.0.1:${sourceGrpc}`,
  });
  {
    await waitFor(
      async () => await healthy(sourceHealth) && await healthy(healthPort),
      "source and processor healthy",
      30_000,
    );
    const client = new Deno.Command("node", {
      args: ["-e", LIVE_CLIENT, `127.0.0.1:${grpcPort}`, `${EXAMPLE}/proto`],
      cwd: `${ROOT}tests/interop`,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let output = "";
    const reading = (async () => {
      for await (const chunk of client.stdout.pipeThrough(new TextDecoderStream())) output += chunk;
    })();
    await waitFor(() => output.includes("event\n"), "the first live event", 20_000);
    Deno.kill(processor.pid, "SIGTERM");
    const [status] = await Promise.all([client.status, reading, client.stderr.cancel()]);
    assertEquals(status.code, 0);
    const outcome = output.trim().split("\n").find((line) => line.startsWith("outcome"));
    assertEquals(outcome, "outcome 14 the server is shutting down");
  }
});
