// Example sink: streams token transfer events from the processor and prints each one.
// Usage: npm start -- <start ledger> <end ledger> [account...]
// (end 0: stream forever; accounts: only events from or to them)
// It speaks the upstream ttp-processor wire (token_transfer_service.EventService/GetTTPEvents),
// so the upstream consumer apps can take its place. It registers with flowctl through the older
// flowctl.ControlPlane service, without any component id, the way older components do: flowctl
// matches it by its health port.
"use strict";
const http = require("node:http");
const path = require("node:path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const loaderOptions = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};
const eventService = grpc.loadPackageDefinition(
  protoLoader.loadSync("event_service/event_service.proto", {
    ...loaderOptions,
    includeDirs: [process.env.TTP_PROTO_DIR || path.join(__dirname, "../../proto")],
  }),
).token_transfer_service;
const flowctlProto = grpc.loadPackageDefinition(
  protoLoader.loadSync(path.join(__dirname, "flowctl.proto"), loaderOptions),
).flowctl;

const startLedger = Number(process.argv[2] || 1);
const endLedger = Number(process.argv[3] || 0);
const accountIds = process.argv.slice(4);
const address = process.env.TTP_SERVICE_ADDRESS || "127.0.0.1:50052";
const healthPort = Number(process.env.HEALTH_PORT || 3000);
let received = 0;
let streaming = false;

const healthServer = http.createServer((req, res) => {
  if (req.url !== "/health") return res.writeHead(404).end();
  res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
});
healthServer.listen(healthPort, "0.0.0.0");

const client = new eventService.EventService(address, grpc.credentials.createInsecure());
// The last event printed, so a reconnect resumes at its ledger without printing it twice.
let last = { ledger: startLedger - 1, tx: Infinity, op: Infinity };

function isAfterLast(meta) {
  if (meta.ledger_sequence !== last.ledger) return meta.ledger_sequence > last.ledger;
  if (meta.transaction_index !== last.tx) return meta.transaction_index > last.tx;
  return (meta.operation_index ?? 0) > last.op;
}

function assetName(asset) {
  if (!asset) return "(custom token)";
  if (asset.asset_type === "native") return "XLM";
  return `${asset.issued_asset.asset_code}:${asset.issued_asset.issuer}`;
}

function stream() {
  const from = last.tx === Infinity ? last.ledger + 1 : last.ledger;
  const call = client.GetTTPEvents({
    start_ledger: from,
    end_ledger: endLedger,
    account_ids: accountIds,
  });
  streaming = true;
  call.on("data", (event) => {
    const meta = event.meta;
    if (!isAfterLast(meta)) return;
    last = {
      ledger: meta.ledger_sequence,
      tx: meta.transaction_index,
      op: meta.operation_index ?? 0,
    };
    received++;
    const body = event[event.event] || {};
    console.log(
      `event ledger=${meta.ledger_sequence} tx=${meta.tx_hash} ` +
        `index=${meta.transaction_index}.${meta.operation_index ?? "fee"} ${event.event} ` +
        `from=${body.from || "-"} to=${body.to || "-"} amount=${body.amount} ${
          assetName(body.asset)
        }`,
    );
  });
  let failed = false;
  call.on("end", () => {
    if (failed) return; // grpc-js also ends a call that failed
    console.log(`consumer: stream ended after ${received} events`);
    if (endLedger !== 0) shutdown(0);
  });
  call.on("error", (error) => {
    failed = true;
    streaming = false;
    if (stopping) return;
    console.error(`consumer: stream error (${error.details || error.message}); reconnecting in 1s`);
    setTimeout(stream, 1000);
  });
}

// flowctl registration through the older protocol.
let heartbeatTimer;
// A bare number is milliseconds, as the upstream consumer reads it; otherwise a Go duration
// ("10s", as flowctl injects it).
function heartbeatMs(text) {
  if (/^\d+$/.test(String(text))) return Number(text) > 0 ? Number(text) : 10000;
  const units = { ms: 1, s: 1000, m: 60000, h: 3600000 };
  let total = 0;
  for (const match of String(text || "").matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(match[1]) * units[match[2]];
  }
  return total > 0 ? total : 10000;
}
function registerWithFlowctl() {
  if (process.env.ENABLE_FLOWCTL !== "true" || !process.env.FLOWCTL_ENDPOINT) return;
  const controlPlane = new flowctlProto.ControlPlane(
    process.env.FLOWCTL_ENDPOINT,
    grpc.credentials.createInsecure(),
  );
  const info = {
    service_type: "SERVICE_TYPE_SINK",
    input_event_types: ["token_transfer.TokenTransferEvent"],
    health_endpoint: `http://localhost:${healthPort}/health`,
    max_inflight: 100,
    metadata: { language: "node" },
  };
  const register = () =>
    controlPlane.Register(info, (error, ack) => {
      if (error) {
        console.error(`consumer: flowctl registration failed (${error.details}); retrying`);
        return setTimeout(register, 1000);
      }
      console.log(`consumer: registered with flowctl as ${ack.service_id}`);
      clearInterval(heartbeatTimer);
      heartbeatTimer = setInterval(() => {
        const now = Date.now();
        controlPlane.Heartbeat({
          service_id: ack.service_id,
          timestamp: { seconds: String(Math.floor(now / 1000)), nanos: (now % 1000) * 1e6 },
          metrics: { events_received: received, streaming: streaming ? 1 : 0 },
        }, (error) => {
          if (error && error.code === grpc.status.NOT_FOUND) register();
        });
      }, heartbeatMs(process.env.FLOWCTL_HEARTBEAT_INTERVAL));
    });
  register();
}

let stopping = false;
function shutdown(code) {
  if (stopping) return;
  stopping = true;
  clearInterval(heartbeatTimer);
  healthServer.close();
  client.close();
  process.exit(code);
}
process.on("SIGTERM", () => shutdown(0));
process.on("SIGINT", () => shutdown(0));

console.log(
  `consumer: streaming events from ${address}, ledgers ${startLedger}..${endLedger || "forever"}`,
);
registerWithFlowctl();
stream();
