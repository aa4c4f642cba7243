// Runs a script of control plane calls with stock @grpc/grpc-js and prints one JSON result per
// call. Usage: node client.cjs <host:port> '<json steps>'
// A step is { "service": "v1" | "legacy", "method": "RegisterComponent", "request": {...} },
// or { "sleep": ms }. Results: { "ok": true, "response": ... } or { "ok": false, "code", "details" }.
"use strict";
const path = require("node:path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const protoDir = path.join(__dirname, "../../proto");
const options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [protoDir],
};
const packages = grpc.loadPackageDefinition(
  protoLoader.loadSync([
    "flowctl/control_plane.proto",
    "flowctl/v1/control_plane.proto",
  ], options),
);
const [endpoint, stepsJson] = process.argv.slice(2);
const clients = {
  legacy: new packages.flowctl.ControlPlane(
    endpoint,
    grpc.credentials.createInsecure(),
  ),
  v1: new packages.flowctl.v1.ControlPlaneService(
    endpoint,
    grpc.credentials.createInsecure(),
  ),
};

async function main() {
  const results = [];
  for (const step of JSON.parse(stepsJson)) {
    if (step.sleep) {
      await new Promise((resolve) => setTimeout(resolve, step.sleep));
      continue;
    }
    results.push(
      await new Promise((resolve) =>
        clients[step.service][step.method](
          step.request,
          { deadline: Date.now() + 5000 },
          (error, response) =>
            resolve(
              error
                ? { ok: false, code: error.code, details: error.details }
                : { ok: true, response },
            ),
        )
      ),
    );
  }
  console.log(JSON.stringify(results));
  clients.legacy.close();
  clients.v1.close();
}
main();
