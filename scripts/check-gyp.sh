#!/usr/bin/env bash
# Builds the addon from binding.gyp in a scratch copy (node-gyp and cmake-js both want ./build),
# so CI proves the secondary build lists the same sources and libraries as CMakeLists.txt.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cp -r "$root/binding.gyp" "$root/native" "$root/package.json" "$scratch/"
ln -s "$root/node_modules" "$scratch/node_modules"
cd "$scratch"
npm_config_nodedir="${npm_config_nodedir:-$(npm config get nodedir)}" "$root/node_modules/.bin/node-gyp" rebuild >/dev/null
node -e "const m = require('./build/Release/kazoo_amqp.node'); if (typeof m.Connection !== 'function' || m.json('{\"a\":1}', 'a', '%') !== '1') process.exit(1)"
echo "binding.gyp build: ok"
