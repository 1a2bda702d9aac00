#!/usr/bin/env bash
# Builds what is needed and runs Kassa on http://127.0.0.1:8080 and the demo shop, its merchant's
# backend, on http://localhost:3000 (another origin, as a real shop is).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh --release
export KASSA_DATABASE_URL="${KASSA_DATABASE_URL:-sqlite://kassa.db}"
export KASSA_LISTEN="${KASSA_LISTEN:-127.0.0.1:8080}"
shop_listen="${KASSA_SHOP_LISTEN:-127.0.0.1:3000}"
key_file="${KASSA_SHOP_KEY_FILE:-kassa-shop.key}"

# The shop is a merchant of this Kassa: made once, its secret key kept (mode 0600) for the shop.
if [ ! -s "$key_file" ]; then
  made=$(target/server/kassa-server merchant create --name "Kassa Demo Shop")
  (umask 077 && node -e 'process.stdout.write(JSON.parse(process.argv[1]).secretKey)' "$made" > "$key_file")
  echo "Created the demo shop's merchant; its secret key is in $key_file"
  # Its owner signs in to the merchant console after choosing a password at this link.
  merchant=$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).merchantId)' "$made")
  owner=$(target/server/kassa-server user create --merchant "$merchant" --email owner@demo-shop.example --role owner)
  setup=$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).setupPath)' "$owner")
  echo "The merchant console: choose owner@demo-shop.example's password at http://$KASSA_LISTEN$setup (valid 72 hours)"
fi

target/server/kassa-server serve --webhooks-allow-loopback &
kassa=$!
trap 'kill $kassa 2>/dev/null || true' EXIT INT TERM
echo "The demo shop: http://localhost:${shop_listen##*:}/  (Kassa: http://$KASSA_LISTEN/)"
target/server/kassa-shop --listen "$shop_listen" --kassa-url "http://$KASSA_LISTEN" --secret-key-file "$key_file" \
  --database "${KASSA_SHOP_DATABASE:-sqlite://kassa-shop.db}"
