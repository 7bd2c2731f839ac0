#!/usr/bin/env node
/**
 * `npm install` hook: make sure the system libraries the addon links are present, then build it.
 *
 * The addon links the system librabbitmq, json-c and libuuid (Debian: librabbitmq-dev,
 * libjson-c-dev, uuid-dev) and is built by cmake-js. When something is missing we install it as
 * root with apt, or stop with the exact command to run: a half-built addon is worse than none.
 */
'use strict';
const { execFileSync, spawnSync } = require('child_process');
const path = require('path');

/** pkg-config module -> Debian package that provides it. */
const LIBRARIES = [
  ['librabbitmq', 'librabbitmq-dev'],
  ['json-c', 'libjson-c-dev'],
  ['uuid', 'uuid-dev'],
  ['openssl', 'libssl-dev'],
];
/** Tools -> Debian package. */
const TOOLS = [
  ['pkg-config', 'pkg-config'],
  ['cmake', 'cmake'],
  ['g++', 'g++'],
  ['make', 'make'],
  // The TLS integration tests put socat (with certificates made by openssl) in front of RabbitMQ.
  ['socat', 'socat'],
  ['openssl', 'openssl'],
];

function has(cmd, args) {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

function missingPackages() {
  const missing = [];
  for (const [tool, pkg] of TOOLS) if (!has('sh', ['-c', `command -v ${tool}`])) missing.push(pkg);
  const havePkgConfig = has('sh', ['-c', 'command -v pkg-config']);
  for (const [mod, pkg] of LIBRARIES) if (!havePkgConfig || !has('pkg-config', ['--exists', mod])) missing.push(pkg);
  return [...new Set(missing)];
}

function tryAptInstall(pkgs) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !has('sh', ['-c', 'command -v apt-get'])) return false;
  console.log(`kazoo-amqp: installing system packages: ${pkgs.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '-q', ...pkgs], { stdio: 'inherit', env }).status === 0;
  if (install()) return true;
  // A fresh machine has no package lists yet.
  spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
  return install();
}

let missing = missingPackages();
if (missing.length && tryAptInstall(missing)) missing = missingPackages();
if (missing.length) {
  console.error(
    `kazoo-amqp: cannot build the native addon, missing system packages: ${missing.join(', ')}\n` +
      `  install them with:  sudo apt-get install -y ${missing.join(' ')}\n` +
      `  then run npm install again.`,
  );
  process.exit(1);
}

const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
execFileSync(process.execPath, [cmakeJs, 'compile', '--directory', path.resolve(__dirname, '..')], {
  stdio: 'inherit',
});
