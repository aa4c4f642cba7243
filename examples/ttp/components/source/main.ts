/**
 * Example source: serves ledgers read from a "datalake" folder of JSON files over gRPC
 * (ttp.v1.LedgerSource/StreamLedgers). With end_ledger 0 it streams forever, picking up new
 * files as they appear.
 */
import { create } from "@bufbuild/protobuf";
import { type Ledger, LedgerSchema, LedgerSource } from "../../gen/ttp_pb.ts";
import { ComponentType, startFlowctl } from "../../../../src/sdk/flowctl_sdk.ts";
import { envNumber, onShutdown, serveGrpc, serveHealth } from "../_serve.ts";

const grpcPort = envNumber("GRPC_PORT", 50051);
const healthPort = envNumber("HEALTH_PORT", 8088);
const datalake = Deno.env.get("DATALAKE_DIR") ?? "datalake";

/** Reads every ledger file, sorted by sequence. */
async function readLedgers(): Promise<Ledger[]> {
  const ledgers: Ledger[] = [];
  for await (const entry of Deno.readDir(datalake)) {
    if (!entry.isFile || !entry.name.endsWith(".json")) continue;
    const data = JSON.parse(await Deno.readTextFile(`${datalake}/${entry.name}`));
    ledgers.push(create(LedgerSchema, {
      sequence: data.sequence,
      closeTime: data.close_time,
      transactions: data.transactions,
    }));
  }
  return ledgers.sort((a, b) => a.sequence - b.sequence);
}

let served = 0;
const grpc = await serveGrpc(grpcPort, (router, server) =>
  router.service(LedgerSource, {
    streamLedgers(request, context) {
      return server.stream(async function* () {
        let next = Math.max(request.startLedger, 1);
        while (!context.signal.aborted) {
          for (const ledger of await readLedgers()) {
            if (ledger.sequence < next) continue;
            if (request.endLedger !== 0 && ledger.sequence > request.endLedger) return;
            yield ledger;
            served++;
            next = ledger.sequence + 1;
          }
          if (request.endLedger !== 0 && next > request.endLedger) return;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }());
    },
  }));
const health = serveHealth(healthPort, () => true);
const flowctl = await startFlowctl({
  type: ComponentType.SOURCE,
  name: "stellar-live-source-datalake",
  outputEventTypes: ["stellar.ledger"],
  endpoint: `127.0.0.1:${grpcPort}`,
  metrics: () => ({ ledgers_served: String(served) }),
});
console.log(
  `source: serving ledgers from ${datalake} on gRPC port ${grpcPort}, health on ${healthPort}`,
);

onShutdown(async () => {
  console.log("source: shutting down");
  await grpc.close();
  await flowctl.stop();
  await health.shutdown();
});
