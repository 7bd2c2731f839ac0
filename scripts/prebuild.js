#!/usr/bin/env node
/**
 * `npm pack` / `npm publish` hook (prepack): builds the prebuilt binary the package ships,
 * prebuilds/<platform tag>/kazoo_amqp.node, with rabbitmq-c, json-c and libuuid linked statically
 * (cmake/static-deps.cmake) and OpenSSL dynamic, so a consumer on that platform needs no compiler,
 * no -dev package and no install script. Then checks what the binary links and that it loads.
 *
 * The binary uses Node-API only (NAPI_VERSION in CMakeLists.txt), so one file serves every
 * Node.js >= 20. prebuilds/ and build-prebuild/ are build output, never committed.
 * KAZOO_AMQP_SKIP_PREBUILD=1 packs without a binary (consumers then build from source).
 */
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const { platformTag, ADDON_FILE, PREBUILT_PLATFORMS } = require(path.join(root, 'dist', 'lib', 'load-binding.js'));

const prebuilds = path.join(root, 'prebuilds');
fs.rmSync(prebuilds, { recursive: true, force: true });
if (process.env.KAZOO_AMQP_SKIP_PREBUILD === '1') {
  console.error('kazoo-amqp prebuild: skipped (KAZOO_AMQP_SKIP_PREBUILD=1); the package will build from source');
  process.exit(0);
}

const tag = platformTag();
if (!PREBUILT_PLATFORMS[tag]) {
  console.error(
    `kazoo-amqp prebuild: the package ships binaries for ${Object.keys(PREBUILT_PLATFORMS).join(', ')}, ` +
      `this is ${tag}. Pack on one of those, or set KAZOO_AMQP_SKIP_PREBUILD=1 to pack without a binary.`,
  );
  process.exit(1);
}

const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
// Its own build folder: build/ stays the development build that tests load.
execFileSync(
  process.execPath,
  [cmakeJs, 'compile', '--directory', root, '--out', 'build-prebuild', '--CDKAZOO_STATIC_DEPS=ON'],
  { stdio: ['ignore', 'ignore', 'inherit'], cwd: root },
);

const file = path.join(prebuilds, tag, ADDON_FILE);
fs.mkdirSync(path.dirname(file), { recursive: true });
fs.copyFileSync(path.join(root, 'build-prebuild', 'Release', ADDON_FILE), file);
execFileSync('strip', ['--strip-unneeded', file]);

// Report on stderr: `npm pack --json` prints its JSON on stdout.
execFileSync('bash', [path.join(__dirname, 'check-binary-deps.sh'), file], { stdio: ['ignore', 2, 2] });
execFileSync(
  process.execPath,
  ['-e', `const m = require(${JSON.stringify(file)}); if (typeof m.Connection !== 'function' || m.json('{"a":1}', 'a', '%') !== '1') process.exit(1)`],
  { stdio: ['ignore', 2, 2] },
);
console.error(`kazoo-amqp prebuild: ${path.relative(root, file)} (${fs.statSync(file).size} bytes) loads`);
