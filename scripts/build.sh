#!/usr/bin/env bash
# Builds the server, the demo shop and the checkout app.
#   scripts/build.sh          debug server (fast to build), release checkout
#   scripts/build.sh --release  the server with its optimized profile too
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh

if [ "${1:-}" = "--release" ]; then
  cargo build -p kassa-server -p kassa-shop --profile server
else
  cargo build -p kassa-server -p kassa-shop
fi
bash scripts/build-sdk.sh
bash scripts/build-app.sh checkout
bash scripts/build-app.sh console
