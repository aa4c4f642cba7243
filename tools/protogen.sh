#!/usr/bin/env bash
# Regenerates the committed protobuf code (src/controlplane/gen, examples/ttp/gen) with buf and
# protoc-gen-es from tools/protogen (npm, dev only). With --check, fails if it is not current.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x tools/protogen/node_modules/.bin/buf ]; then
  npm ci --prefix tools/protogen --no-audit --no-fund --loglevel=error >/dev/null 2>&1 ||
    npm install --prefix tools/protogen --no-audit --no-fund --loglevel=error >/dev/null
fi
buf=tools/protogen/node_modules/.bin/buf
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/cp" "$out/ttp"
sed "s#out: src/controlplane/gen#out: $out/cp#" buf.gen.yaml >"$out/cp.yaml"
sed "s#out: gen#out: $out/ttp#" examples/ttp/buf.gen.yaml >"$out/ttp.yaml"
(cd examples/ttp && "../../$buf" generate --template "$out/ttp.yaml")
"$buf" generate --template "$out/cp.yaml"
deno fmt --quiet "$out/cp" "$out/ttp"
if [ "${1:-}" = "--check" ]; then
  diff -r "$out/cp" src/controlplane/gen && diff -r "$out/ttp" examples/ttp/gen ||
    { echo "generated protobuf code is stale: run deno task proto" >&2; exit 1; }
  echo "generated protobuf code is current"
else
  rm -rf src/controlplane/gen examples/ttp/gen
  cp -r "$out/cp" src/controlplane/gen
  cp -r "$out/ttp" examples/ttp/gen
  echo "generated src/controlplane/gen and examples/ttp/gen"
fi
