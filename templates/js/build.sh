#!/bin/sh
# Builds {{name}}.wasm next to Component.toml with componentize-js 0.23.0: $COMPONENTIZE_JS
# if set, else the one `npm install` puts in node_modules (installed on the first build).
set -eu
cd "$(dirname "$0")"
componentize_js="${COMPONENTIZE_JS:-node_modules/.bin/componentize-js}"
if [ -z "${COMPONENTIZE_JS:-}" ] && [ ! -x "$componentize_js" ]; then
    npm install --no-audit --no-fund --loglevel=error
fi
# `-d http fetch-event`: a message component uses neither.
"$componentize_js" handler.js -w wit -n component -d http fetch-event -o {{name}}.wasm
echo "built {{name}}.wasm"
