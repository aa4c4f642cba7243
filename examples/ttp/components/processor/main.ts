/**
 * Example processor: connects to the source named by LIVE_SOURCE_ENDPOINT and serves the token
 * transfer events of its ledgers on the upstream ttp-processor wire
 * (token_transfer_service.EventService/GetTTPEvents), so upstream consumer apps connect unchanged.
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { LedgerSource } from "../../gen/ttp_pb.ts";
import { EventService } from "../../gen/event_service/event_service_pb.ts";
import { ComponentType, startFlowctl } from "../../../../src/sdk/flowctl_sdk.ts";
import { envNumber, onShutdown, serveGrpc, serveHealth } from "../_serve.ts";
import { involvesAny, tokenTransferEvents } from "./token_transfers.ts";

const grpcPort = envNumber("GRPC_PORT", 50052);
const healthPort = envNumber("HEALTH_PORT", 8089);
const sourceEndpoint = Deno.env.get("LIVE_SOURCE_ENDPOINT") ?? "127.0.0.1:50051";
const source = createClient(
  LedgerSource,
  createGrpcTransport({ baseUrl: `http://${sourceEndpoint}` }),
);

let emitted = 0;
const grpc = await serveGrpc(grpcPort, (router, server) =>
  router.service(EventService, {
    getTTPEvents(request, context) {
      // Upstream: an end of 0 or below the start asks for a live stream; the source's is end 0.
      const live = request.endLedger === 0 || request.endLedger < request.startLedger;
      const ledgers = source.streamLedgers(
        { startLedger: request.startLedger, endLedger: live ? 0 : request.endLedger },
        { signal: context.signal },
      );
      return server.stream(async function* () {
        for await (const ledger of ledgers) {
          for (const event of tokenTransferEvents(ledger)) {
            if (!involvesAny(event, request.accountIds)) continue;
            yield event;
            emitted++;
          }
        }
      }());
    },
  }));
const health = serveHealth(healthPort, () => true);
const flowctl = await startFlowctl({
  type: ComponentType.PROCESSOR,
  name: "ttp-processor",
  inputEventTypes: ["stellar.ledger"],
  outputEventTypes: ["token_transfer.TokenTransferEvent"],
  endpoint: `127.0.0.1:${grpcPort}`,
  metrics: () => ({ events_emitted: String(emitted) }),
});
console.log(
  `processor: reading ledgers from ${sourceEndpoint}, serving events on gRPC port ${grpcPort}`,
);

onShutdown(async () => {
  console.log("processor: shutting down");
  await grpc.close();
  await flowctl.stop();
  await health.shutdown();
});
