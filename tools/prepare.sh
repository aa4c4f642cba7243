#!/usr/bin/env bash
# Installs the Node.js packages the example consumer and the interop tests need (npm only).
set -euo pipefail
cd "$(dirname "$0")/.."
for dir in examples/ttp/consumer_app/node tests/interop; do
  if [ ! -d "$dir/node_modules/@grpc/grpc-js" ]; then
    if [ -f "$dir/package-lock.json" ]; then
      npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
    else
      npm install --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
    fi
  fi
done
