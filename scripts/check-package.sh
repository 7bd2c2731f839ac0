#!/usr/bin/env bash
# The package as a consumer gets it: `npm pack`, then `npm install --ignore-scripts <tarball>`
# in a scratch project (npm 11 skips a dependency's install script by default, so the prebuilt
# binary must be enough), then:
#  - the tarball holds the prebuilt binary, the types and the fallback's sources, and no tests,
#    bench, examples or their build output;
#  - require('kazoo-amqp') loads the prebuilt binary, connects to the broker at AMQP_URL and
#    publishes a message that arrives (scripts/package-check/publish.cjs);
#  - an ES module imports it (esm-import.mjs);
#  - a TypeScript consumer type-checks with --strict and skipLibCheck false, as CommonJS
#    (consumer.cts) and as ESM (consumer.mts), under module/moduleResolution node16 and nodenext.
# Any failure stops the script with a non-zero exit.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fixtures="$root/scripts/package-check"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/kazoo-amqp-package.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
fail() { echo "check-package: FAILED: $*" >&2; exit 1; }

cd "$root"
echo "check-package: npm pack"
npm pack --json --pack-destination "$scratch" > "$scratch/pack.json"
tarball="$scratch/$(node -p "require('$scratch/pack.json')[0].filename")"
[[ -f "$tarball" ]] || fail "npm pack made no tarball"
node -e "
  const r = require('$scratch/pack.json')[0];
  console.log('check-package: ' + r.filename + ': ' + r.entryCount + ' files, ' +
    (r.size / 1024).toFixed(1) + ' KiB packed, ' + (r.unpackedSize / 1024).toFixed(1) + ' KiB unpacked');
"

tar -tzf "$tarball" > "$scratch/entries.txt"
forbidden="$(grep -E '^package/((dist/)?(test|bench|examples)/|build/|build-prebuild/|node_modules/|lib/.*\.ts$|.*\.map$|.*\.tgz$)' "$scratch/entries.txt" || true)"
[[ -z "$forbidden" ]] || fail "the tarball holds files a consumer must not get:
$forbidden"
for required in package/prebuilds/linux-x64-glibc/kazoo_amqp.node package/dist/lib/index.js \
  package/dist/lib/index.d.ts package/dist/typings/native.d.ts package/scripts/install.js \
  package/CMakeLists.txt package/binding.gyp package/cmake/static-deps.cmake package/LICENSE \
  package/README.md; do
  grep -qx "$required" "$scratch/entries.txt" || fail "the tarball lacks ${required#package/}"
done
grep -q '^package/native/core/.*\.cc$' "$scratch/entries.txt" || fail "the tarball lacks the native sources"
tar -xzf "$tarball" -C "$scratch" package/prebuilds/linux-x64-glibc/kazoo_amqp.node
bash "$root/scripts/check-binary-deps.sh" "$scratch/package/prebuilds/linux-x64-glibc/kazoo_amqp.node"

consumer="$scratch/consumer"
mkdir -p "$consumer/src"
cd "$consumer"
echo '{ "name": "kazoo-amqp-consumer", "version": "1.0.0", "private": true }' > package.json
# The consumer's TypeScript and Node types: the versions this repository is tested with.
ts_version="$(node -p "require('$root/node_modules/typescript/package.json').version")"
types_node_version="$(node -p "require('$root/node_modules/@types/node/package.json').version")"
echo "check-package: npm install --ignore-scripts <tarball> typescript@$ts_version @types/node@$types_node_version"
npm install --ignore-scripts --no-audit --no-fund --loglevel=error \
  "$tarball" "typescript@$ts_version" "@types/node@$types_node_version" > "$scratch/install.log" 2>&1 ||
  { cat "$scratch/install.log" >&2; fail "npm install of the tarball failed"; }
[[ ! -e node_modules/kazoo-amqp/build ]] || fail "the install built the addon although scripts were skipped"

# Copied into the consumer: run from scripts/, 'kazoo-amqp' would resolve to this checkout itself.
cp "$fixtures/publish.cjs" "$fixtures/esm-import.mjs" src/
KAZOO_CHECK_AMQPLIB="$root/node_modules/amqplib" node src/publish.cjs || fail "the CommonJS consumer"
node src/esm-import.mjs || fail "the ES module consumer"

cp "$fixtures/consumer.cts" "$fixtures/consumer.mts" src/
for mode in node16 nodenext; do
  node_modules/.bin/tsc --noEmit --strict --skipLibCheck false --module "$mode" --moduleResolution "$mode" \
    --target es2022 --types node src/consumer.cts src/consumer.mts ||
    fail "a strict TypeScript consumer does not compile with module/moduleResolution $mode"
  echo "check-package: strict TypeScript consumer (CommonJS + ESM) compiles with $mode, skipLibCheck false"
done
echo "check-package: ok"
