// Ceiling for the control plane benchmark: a bare node:http2 server under Node that answers every
// gRPC call with an empty message and does nothing else (no protobuf decoding, no bookkeeping).
// What the load generator reaches against it is the most any server can show on this machine.
// Prints "listening <port>".
"use strict";
const http2 = require("node:http2");
const empty = Buffer.from([0, 0, 0, 0, 0]); // an uncompressed, zero-length message frame
const server = http2.createServer((request, response) => {
  request.resume();
  request.on("end", () => {
    response.writeHead(200, { "content-type": "application/grpc" });
    response.addTrailers({ "grpc-status": "0" });
    response.end(empty);
  });
});
server.listen(0, "127.0.0.1", () => console.log(`listening ${server.address().port}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
