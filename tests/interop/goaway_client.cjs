// The client pattern that aborts Deno's node:http2 (denoland/deno#36788): SESSIONS HTTP/2
// sessions at once, each sending REQUESTS gRPC calls one after another (ListComponents, empty
// body), then ending with a GOAWAY and close.
// Usage: node goaway_client.cjs <host:port> [sessions] [requests]
// Prints {"answered": n, "failed": n}; failures are counted, not fatal (the server may be
// restarting).
"use strict";
const http2 = require("node:http2");

const [endpoint, sessionsArg = "6", requestsArg = "50"] = process.argv.slice(2);

function call(session) {
  return new Promise((resolve) => {
    let answered = false;
    let stream;
    try {
      stream = session.request({
        ":method": "POST",
        ":path": "/flowctl.v1.ControlPlaneService/ListComponents",
        "content-type": "application/grpc",
      });
    } catch {
      return resolve(false);
    }
    stream.on("response", () => (answered = true));
    stream.on("data", () => {});
    stream.on("error", () => resolve(false));
    stream.on("close", () => resolve(answered));
    stream.end(Buffer.alloc(5));
  });
}

async function oneSession() {
  const session = http2.connect(`http://${endpoint}`);
  session.on("error", () => {});
  const results = [];
  for (let i = 0; i < Number(requestsArg); i++) {
    results.push(await call(session));
  }
  try {
    session.goaway();
    session.close();
  } catch { /* the server is gone */ }
  return results;
}

async function main() {
  const sessions = Array.from({ length: Number(sessionsArg) }, oneSession);
  const all = (await Promise.all(sessions)).flat();
  const answered = all.filter(Boolean).length;
  console.log(JSON.stringify({ answered, failed: all.length - answered }));
}
main();
