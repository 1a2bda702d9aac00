#!/usr/bin/env bash
# Installs what Kassa's build needs, skipping whatever is already there.
#   scripts/setup.sh            Rust wasm target, rustfmt and clippy, wasm-bindgen-cli, trunk, wasm-opt,
#                               PostgreSQL, npm packages
#   scripts/setup.sh --browser  and Chromium with ChromeDriver, for the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

browser=0
for arg in "$@"; do [ "$arg" = "--browser" ] && browser=1; done
say() { echo "setup: $*" >&2; }

command -v cargo >/dev/null || { say "Rust is required: install it from https://rustup.rs"; exit 1; }
command -v npm >/dev/null || { say "Node.js 20 or newer is required"; exit 1; }

if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
# The tests check the layout and the lints as well.
for component in rustfmt clippy; do
  if command -v rustup >/dev/null && ! rustup component list --installed | grep -q "^$component"; then
    say "adding the $component component"
    rustup component add "$component"
  fi
done

# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
wbg_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg_version" ]; then
  say "installing wasm-bindgen-cli $wbg_version"
  cargo install wasm-bindgen-cli --version "$wbg_version"
fi

if ! trunk --version 2>/dev/null | grep -q '^trunk 0\.21\.'; then
  say "installing trunk 0.21"
  cargo install trunk --version '~0.21' --locked
fi

packages=()
command -v wasm-opt >/dev/null || packages+=(binaryen)
# The server tests run on PostgreSQL as well; they start a throwaway cluster from Debian's package.
if [ -z "${KASSA_TEST_DATABASE_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  packages+=(postgresql)
fi
# The Stripe connector's tests install localstripe (PyPI) into a virtual environment of their own.
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  packages+=(python3-venv)
fi
if [ "$browser" = 1 ]; then
  command -v chromium >/dev/null || packages+=(chromium)
  command -v chromedriver >/dev/null || packages+=(chromium-driver)
fi
if [ ${#packages[@]} -gt 0 ]; then
  say "installing ${packages[*]} from Debian"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi
