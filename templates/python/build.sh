#!/bin/sh
# Builds {{name}}.wasm next to Component.toml with componentize-py 0.25.1: the one on PATH,
# or $COMPONENTIZE_PY. Install it with `pip install componentize-py==0.25.1`.
set -eu
cd "$(dirname "$0")"
componentize_py="${COMPONENTIZE_PY:-componentize-py}"
"$componentize_py" -d wit -w component componentize app -o {{name}}.wasm
echo "built {{name}}.wasm"
