#!/usr/bin/env bash
# Builds what is needed and runs Kassa on http://127.0.0.1:8080 with the demo merchant.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh --release
export KASSA_DATABASE_URL="${KASSA_DATABASE_URL:-sqlite://kassa.db}"
export KASSA_LISTEN="${KASSA_LISTEN:-127.0.0.1:8080}"
exec target/server/kassa-server serve --demo
