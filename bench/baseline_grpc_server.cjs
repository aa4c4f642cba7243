// Baseline for the control plane benchmark: a minimal stock @grpc/grpc-js server under Node that
// answers the same flowctl.v1 RPCs with no bookkeeping. Prints "listening <port>".
"use strict";
const path = require("node:path");
const grpc = require(path.join(__dirname, "../tests/interop/node_modules/@grpc/grpc-js"));
const protoLoader = require(
  path.join(__dirname, "../tests/interop/node_modules/@grpc/proto-loader"),
);
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync("flowctl/v1/control_plane.proto", {
  keepCase: true,
  defaults: true,
  includeDirs: [path.join(__dirname, "../proto")],
})).flowctl.v1;
const server = new grpc.Server();
server.addService(pkg.ControlPlaneService.service, {
  RegisterComponent: (call, callback) => callback(null, { service_id: call.request.component_id }),
  Heartbeat: (_call, callback) => callback(null, {}),
});
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  console.log(`listening ${port}`);
});
process.on("SIGTERM", () => server.forceShutdown());
