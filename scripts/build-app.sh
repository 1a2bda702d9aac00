#!/usr/bin/env bash
# Builds a Leptos app with Trunk, offline, with the installed tools:
#   scripts/build-app.sh checkout   the checkout, into checkout-app/dist (served at /checkout/)
#   scripts/build-app.sh console    the merchant console, into console-app/dist (served at /console/)
# Further arguments go to `trunk build`.
set -euo pipefail
cd "$(dirname "$0")/.."
app="${1:?which app: checkout or console}"
shift
case "$app" in
  checkout) config=Trunk.toml ;;
  console) config=Trunk.console.toml ;;
  *) echo "build-app.sh: no app called $app" >&2; exit 2 ;;
esac
source scripts/wasm-env.sh
trunk build --config "$config" "$@"
dist="$app-app/dist"
node scripts/externalize-inline.mjs "$dist"
[ -x node_modules/.bin/esbuild ] || npm install --no-audit --no-fund
glue=("$dist"/kassa-"$app"-*.js)
node scripts/minify-glue.mjs "${glue[@]}" "$dist/index.html"
node scripts/precompress.mjs "$dist"
