// Control plane load from 50 concurrent stock @grpc/grpc-js clients under Node: each registers
// through flowctl.v1, then sends heartbeats back to back for DURATION ms. Prints JSON figures.
// Usage: node controlplane_load.cjs <host:port> [clients] [durationMs]
"use strict";
const path = require("node:path");
const grpc = require(path.join(__dirname, "../tests/interop/node_modules/@grpc/grpc-js"));
const protoLoader = require(
  path.join(__dirname, "../tests/interop/node_modules/@grpc/proto-loader"),
);

const [endpoint, clientsArg = "50", durationArg = "5000"] = process.argv.slice(2);
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync("flowctl/v1/control_plane.proto", {
  keepCase: true,
  defaults: true,
  includeDirs: [path.join(__dirname, "../proto")],
})).flowctl.v1;

const call = (client, method, request) =>
  new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    client[method](request, (error) =>
      error ? reject(error) : resolve(Number(process.hrtime.bigint() - start) / 1e6));
  });

async function main() {
  const clients = Array.from(
    { length: Number(clientsArg) },
    () =>
      new pkg.ControlPlaneService(endpoint, grpc.credentials.createInsecure(), {
        "grpc.use_local_subchannel_pool": 1,
      }),
  );
  const registerStart = process.hrtime.bigint();
  const registerLatencies = await Promise.all(
    clients.map((client, i) =>
      call(client, "RegisterComponent", {
        component_id: `bench-${i}`,
        component: { id: `bench-${i}`, type: 1 },
      })
    ),
  );
  const registerMs = Number(process.hrtime.bigint() - registerStart) / 1e6;
  const latencies = [];
  const deadline = Date.now() + Number(durationArg);
  const start = process.hrtime.bigint();
  await Promise.all(clients.map(async (client, i) => {
    while (Date.now() < deadline) {
      latencies.push(
        await call(client, "Heartbeat", {
          service_id: `bench-${i}`,
          status: 2,
          metrics: { n: "1" },
        }),
      );
    }
  }));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  latencies.sort((a, b) => a - b);
  const pct = (p) =>
    latencies[Math.min(latencies.length - 1, Math.ceil(p / 100 * latencies.length) - 1)];
  console.log(JSON.stringify({
    clients: clients.length,
    registrations_per_s: Math.round(clients.length / (registerMs / 1000)),
    register_p99_ms: registerLatencies.sort((a, b) =>
      a - b
    )[Math.ceil(0.99 * registerLatencies.length) - 1],
    heartbeats: latencies.length,
    heartbeats_per_s: Math.round(latencies.length / seconds),
    p50_ms: pct(50),
    p99_ms: pct(99),
  }));
  for (const client of clients) client.close();
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
