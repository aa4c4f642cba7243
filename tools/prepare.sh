#!/usr/bin/env bash
# Installs the Node.js packages the example consumer, the interop tests and the dashboard's
# browser tests need (npm only).
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
# playwright-core drives Debian's chromium in the dashboard tests; it downloads no browser.
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error >/dev/null
fi
