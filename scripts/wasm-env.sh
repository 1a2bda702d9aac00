# Sourced by the scripts that build WebAssembly for the browser.
export PATH="$HOME/.cargo/bin:$PATH"
# Debian's wasm-opt (binaryen 108) mishandles the reference-types table that wasm-bindgen sets up
# when rustc emits reference types (its default since 1.82), so browser builds go without them.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=-reference-types,-multivalue"
# The features those builds do use, for wasm-opt.
WASM_OPT_FEATURES="--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals"
