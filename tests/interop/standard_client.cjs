// Calls what standard gRPC tools call, with stock @grpc/grpc-js: an unknown method, the health
// service and server reflection (from proto/grpc). Prints one JSON result per step.
// Usage: node standard_client.cjs <host:port> '<json steps>'
// Steps: { "unknown": "/pkg.Service/Method" }, { "check": "service" }, { "watch": "service" },
//        { "reflect": "v1" | "v1alpha", "requests": [ServerReflectionRequest...] }.
"use strict";
const path = require("node:path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
const load = (file) =>
  grpc.loadPackageDefinition(
    protoLoader.loadSync(file, { ...options, includeDirs: [path.join(__dirname, "../../proto")] }),
  );
const health = load("grpc/health/v1/health.proto").grpc.health.v1;
const reflection = {
  v1: load("grpc/reflection/v1/reflection.proto").grpc.reflection.v1,
  v1alpha: load("grpc/reflection/v1alpha/reflection.proto").grpc.reflection.v1alpha,
};
const [endpoint, stepsJson] = process.argv.slice(2);
const credentials = grpc.credentials.createInsecure();
const deadline = () => ({ deadline: Date.now() + 5000 });
const failure = (error) => ({ ok: false, code: error.code, details: error.details });

function unknown(method) {
  const client = new grpc.Client(endpoint, credentials);
  return new Promise((resolve) =>
    client.makeUnaryRequest(
      method,
      (x) => x,
      (x) => x,
      Buffer.alloc(0),
      deadline(),
      (error, response) => {
        client.close();
        resolve(error ? failure(error) : { ok: true, response: String(response) });
      },
    )
  );
}

function check(service) {
  const client = new health.Health(endpoint, credentials);
  return new Promise((resolve) =>
    client.Check({ service }, deadline(), (error, response) => {
      client.close();
      resolve(error ? failure(error) : { ok: true, response });
    })
  );
}

function watch(service) {
  const client = new health.Health(endpoint, credentials);
  const call = client.Watch({ service });
  return new Promise((resolve) => {
    call.on("data", (response) => {
      resolve({ ok: true, response });
      call.cancel();
      client.close();
    });
    call.on("error", (error) => {
      if (error.code !== grpc.status.CANCELLED) resolve(failure(error));
    });
  });
}

function reflect(version, requests) {
  const client = new reflection[version].ServerReflection(endpoint, credentials);
  const call = client.ServerReflectionInfo(deadline());
  const responses = [];
  return new Promise((resolve) => {
    call.on("data", (response) => {
      const descriptors = response.file_descriptor_response?.file_descriptor_proto;
      // Descriptor bytes as text, enough to see which files and names came back.
      if (descriptors) {
        response.file_descriptor_response.file_descriptor_proto = descriptors.map((b) =>
          b.toString("latin1")
        );
      }
      responses.push(response);
      if (responses.length === requests.length) call.end();
    });
    call.on("end", () => {
      client.close();
      resolve({ ok: true, responses });
    });
    call.on("error", (error) => resolve(failure(error)));
    for (const request of requests) call.write(request);
  });
}

async function main() {
  const results = [];
  for (const step of JSON.parse(stepsJson)) {
    if (step.unknown) results.push(await unknown(step.unknown));
    else if (step.check !== undefined) results.push(await check(step.check));
    else if (step.watch !== undefined) results.push(await watch(step.watch));
    else if (step.reflect) results.push(await reflect(step.reflect, step.requests));
  }
  console.log(JSON.stringify(results));
}
main();
