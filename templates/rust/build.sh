#!/bin/sh
# Builds {{name}}.wasm next to Component.toml (Rust with the wasm32-wasip2 target, which
# this script adds with rustup when it is missing).
set -eu
cd "$(dirname "$0")"
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2
fi
cargo build --release --target wasm32-wasip2
cp "${CARGO_TARGET_DIR:-target}/wasm32-wasip2/release/{{crate}}.wasm" {{name}}.wasm
echo "built {{name}}.wasm"
