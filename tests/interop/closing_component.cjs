// A pipeline component as stock grpc-js components behave: registers with the control plane
// (flowctl.v1), heartbeats BURST times, then closes its channel (client.close(): a GOAWAY), and
// does it again every PAUSE_MS on a fresh channel. Prints one line per event: "registered",
// "heartbeats ok" (a burst answered), "heartbeat failed <code>", "registration lost" (a
// heartbeat answered NOT_FOUND).
// Env: FLOWCTL_ENDPOINT, FLOWCTL_COMPONENT_ID, BURST (30), PAUSE_MS (200).
"use strict";
const path = require("node:path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const packages = grpc.loadPackageDefinition(
  protoLoader.loadSync(["flowctl/v1/control_plane.proto"], {
    keepCase: true,
    enums: String,
    defaults: true,
    includeDirs: [path.join(__dirname, "../../proto")],
  }),
);
const endpoint = process.env.FLOWCTL_ENDPOINT;
const id = process.env.FLOWCTL_COMPONENT_ID;
const burst = Number(process.env.BURST ?? "30");
const pauseMs = Number(process.env.PAUSE_MS ?? "200");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function call(client, method, request) {
  return new Promise((resolve) =>
    client[method](
      request,
      { deadline: Date.now() + 5000 },
      (error, response) => resolve(error ? { error } : { response }),
    )
  );
}

function newClient() {
  return new packages.flowctl.v1.ControlPlaneService(
    endpoint,
    grpc.credentials.createInsecure(),
  );
}

async function register(client) {
  while (true) {
    const { error, response } = await call(client, "RegisterComponent", {
      component_id: id,
      component: { id, name: id, type: "COMPONENT_TYPE_SOURCE" },
    });
    if (!error) {
      console.log(`registered ${response.service_id}`);
      return response.service_id;
    }
    console.log(`register failed ${error.code}`);
    await sleep(pauseMs);
  }
}

async function main() {
  // Registration and the first burst share one channel, as a component's startup does.
  let client = newClient();
  let serviceId = await register(client);
  while (true) {
    client ??= newClient();
    let failed = false;
    for (let i = 0; i < burst && !failed; i++) {
      const { error } = await call(client, "Heartbeat", {
        service_id: serviceId,
        status: "HEALTH_STATUS_HEALTHY",
      });
      if (!error) continue;
      failed = true;
      if (error.code === grpc.status.NOT_FOUND) {
        console.log("registration lost");
        serviceId = await register(client);
      } else console.log(`heartbeat failed ${error.code}`);
    }
    if (!failed) console.log("heartbeats ok");
    client.close();
    client = undefined;
    await sleep(pauseMs);
  }
}
main();
