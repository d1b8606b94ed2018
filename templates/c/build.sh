#!/bin/sh
# Builds {{name}}.wasm next to Component.toml: bindings from wit/ with wit-bindgen 0.63
# (`wit-bindgen c`), clang 19 for wasm32-wasi (Debian: clang-19 lld-19 wasi-libc
# libclang-rt-19-dev-wasm32), and wasm-component-ld 0.5 for the component step (it links
# with wasm-ld and adds the WASI preview1 adapter). Tools on PATH, or named by
# $WIT_BINDGEN, $CLANG, $WASM_COMPONENT_LD and $WASM_LD.
#   cargo install --locked wit-bindgen-cli --version 0.63.0 --no-default-features --features c
#   cargo install --locked wasm-component-ld --version 0.5.31
set -eu
cd "$(dirname "$0")"
wit_bindgen="${WIT_BINDGEN:-wit-bindgen}"
clang="${CLANG:-clang-19}"
component_ld="${WASM_COMPONENT_LD:-$(command -v wasm-component-ld || echo wasm-component-ld)}"
wasm_ld="${WASM_LD:-$(command -v wasm-ld-19 || command -v wasm-ld || echo wasm-ld)}"
rm -rf bindings && mkdir -p bindings
"$wit_bindgen" c wit --world component --out-dir bindings >/dev/null
"$clang" --target=wasm32-wasi -O2 -c bindings/component.c -o bindings/bindings.o
"$clang" --target=wasm32-wasi -O2 -Wall -Wextra -I bindings -mexec-model=reactor \
    component.c bindings/bindings.o bindings/component_component_type.o \
    "-fuse-ld=$component_ld" "-Wl,--wasm-ld-path=$wasm_ld" -o {{name}}.wasm
echo "built {{name}}.wasm"
