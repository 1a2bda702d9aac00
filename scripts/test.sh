#!/usr/bin/env bash
# Runs every test: Rust (contract crate and server), wasm in Chromium, and the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh --browser

echo "== Rust: formatting"
cargo fmt --all --check

# The server is tested on its own so that both of its passes (SQLite, PostgreSQL) build it with the
# same features, once: together with the contract crate's and the shop's dev-dependencies, cargo would
# unify other features and build every server test binary a second time.
echo "== Rust: the server on SQLite"
cargo test -p kassa-server
echo "== Rust: the contract crate, and the demo shop against the server"
cargo test -p kassa -p kassa-shop
# js/contract.d.ts is what the Rust contract types generate.
cargo test -p kassa --features typescript --test typescript

# Lints, every warning an error. Clippy checks rather than builds, so it shares only build
# scripts and proc-macros with the tests: it runs here, after the host's tests have built those,
# and with every feature on, so that one run covers the server, the shop and all of the contract
# crate. The wasm crates are linted for wasm32 below (on the host their browser-only tests are
# left out, and linting them twice would check their dependencies twice).
echo "== Rust: lints"
cargo clippy --workspace --exclude kassa-checkout --exclude kassa-console --exclude kassa-js --all-targets --all-features -- -D warnings

# Every server test again on PostgreSQL: a throwaway cluster the tests start themselves, or the
# server KASSA_TEST_DATABASE_URL names. (The many-server and schema tests use PostgreSQL in both
# runs, and the full-disk test SQLite; they run once.)
echo "== Rust: the server on PostgreSQL"
KASSA_TEST_BACKEND=postgres cargo test -p kassa-server --lib --bins $(for t in server/tests/*.rs; do
  name=$(basename "$t" .rs)
  case "$name" in many_servers|schema|full_disk) ;; *) printf -- '--test %s ' "$name" ;; esac
done)

echo "== wasm: the contract crate and the checkout's components, in headless Chromium"
export CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
(cd sdk && cargo test --target wasm32-unknown-unknown --test wasm)
# The checkout's components, mounted on their own and driven in Chromium.
(cd checkout-app && cargo test --target wasm32-unknown-unknown --lib)
# The browser crates' lints, for the target they run on, after their tests built the proc-macros.
cargo clippy --target wasm32-unknown-unknown -p kassa-checkout -p kassa-console -p kassa-js -p kassa --all-targets -- -D warnings

echo "== The npm package: WebAssembly core and type declarations"
bash scripts/build-sdk.sh
npx tsc -p tests/types/tsconfig.json

echo "== The checkout and the merchant console"
bash scripts/build-app.sh checkout
bash scripts/build-app.sh console

echo "== Node and browser: the npm package and the checkout, against a live server"
node --test --test-reporter=spec tests/
