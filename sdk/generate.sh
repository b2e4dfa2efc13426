#!/usr/bin/env bash
# Generate the Python and TypeScript SDKs from openapi.json into build/sdk/ and type-check the
# TypeScript one with `tsc --strict`. Fails on any generator warning about the document.
#   sdk/generate.sh [SPEC]      SPEC defaults to the committed openapi.json
# Needs .venv (make install) and node_modules (npm ci); `make sdk` sees to both.
set -euo pipefail
cd "$(dirname "$0")/.."

SPEC=${1:-openapi.json}
OUT=build/sdk
LOGS=$OUT/logs
# The Python generator runs ruff on its output (its post hooks): the venv's ruff, on PATH.
export PATH="$PWD/.venv/bin:$PWD/node_modules/.bin:$PATH"

rm -rf "$OUT"
mkdir -p "$LOGS"

# Fail when a generator's output mentions a warning; show that output either way.
check_log() {
  local name=$1 log=$2
  cat "$log"
  if grep -qiE 'warn|error|unsupported|skipping|🚨|❗' "$log"; then
    echo "sdk: $name printed warnings about $SPEC (above); fix the document or sdk/ config" >&2
    exit 1
  fi
}

echo "--> python client (openapi-python-client $(openapi-python-client --version | awk '{print $NF}'))"
openapi-python-client generate --path "$SPEC" --config sdk/python-client.yaml \
  --meta none --output-path "$OUT/python/timebox_client" --overwrite >"$LOGS/python.log" 2>&1 \
  || { cat "$LOGS/python.log"; exit 1; }
check_log openapi-python-client "$LOGS/python.log"
.venv/bin/python -c "import sys; sys.path.insert(0, '$OUT/python'); import timebox_client.api"

echo "--> typescript client (@hey-api/openapi-ts $(openapi-ts --version))"
SDK_SPEC=$SPEC openapi-ts --file sdk/openapi-ts.config.mjs --no-log-file >"$LOGS/typescript.log" 2>&1 \
  || { cat "$LOGS/typescript.log"; exit 1; }
check_log openapi-ts "$LOGS/typescript.log"

echo "--> tsc --strict --noEmit (TypeScript $(tsc --version | awk '{print $NF}'))"
tsc --project sdk/tsconfig.json

echo "sdk: both clients generated from $SPEC into $OUT/ and the TypeScript one compiles"
