/**
 * Example processor: connects to the source named by LIVE_SOURCE_ENDPOINT and serves token
 * transfer events derived from its ledgers (ttp.v1.TokenTransferService/StreamEvents).
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { LedgerSource, TokenTransferService } from "../../gen/ttp_pb.ts";
import { ComponentType, startFlowctl } from "../../../../src/sdk/flowctl_sdk.ts";
import { envNumber, onShutdown, serveGrpc, serveHealth } from "../_serve.ts";

const grpcPort = envNumber("GRPC_PORT", 50052);
const healthPort = envNumber("HEALTH_PORT", 8089);
const sourceEndpoint = Deno.env.get("LIVE_SOURCE_ENDPOINT") ?? "127.0.0.1:50051";
const source = createClient(
  LedgerSource,
  createGrpcTransport({ baseUrl: `http://${sourceEndpoint}` }),
);

let emitted = 0;
const grpc = await serveGrpc(grpcPort, (router) =>
  router.service(TokenTransferService, {
    async *streamEvents(request, context) {
      const ledgers = source.streamLedgers(
        { startLedger: request.startLedger, endLedger: request.endLedger },
        { signal: context.signal },
      );
      for await (const ledger of ledgers) {
        let index = 0;
        for (const tx of ledger.transactions) {
          for (const payment of tx.payments) {
            yield {
              ledgerSequence: ledger.sequence,
              closeTime: ledger.closeTime,
              txHash: tx.hash,
              index: index++,
              from: payment.from,
              to: payment.to,
              asset: payment.asset,
              amount: payment.amount,
            };
            emitted++;
          }
        }
      }
    },
  }));
const health = serveHealth(healthPort, () => true);
const flowctl = await startFlowctl({
  type: ComponentType.PROCESSOR,
  name: "ttp-processor",
  inputEventTypes: ["stellar.ledger"],
  outputEventTypes: ["token.transfer"],
  endpoint: `127.0.0.1:${grpcPort}`,
  metrics: () => ({ events_emitted: String(emitted) }),
});
console.log(
  `processor: reading ledgers from ${sourceEndpoint}, serving events on gRPC port ${grpcPort}`,
);

onShutdown(async () => {
  console.log("processor: shutting down");
  await flowctl.stop();
  grpc.close();
  await health.shutdown();
});
