#!/usr/bin/env node
/**
 * `npm install` hook: use the package's prebuilt binary when one loads here, otherwise build the
 * addon from source with cmake-js.
 *
 * Two situations, told apart by the test/ folder (never in the published package):
 * - Installed as a dependency: a prebuilt binary that loads means there is nothing to do. Only
 *   without one does this build, and it changes the system (apt-get as root) only when
 *   KAZOO_AMQP_INSTALL_DEPS=1 asks; otherwise it stops with the packages to install.
 *   npm 11 skips this script until the consumer approves it, which is fine where a prebuilt fits.
 * - A development checkout (`npm install` in a clone): always builds from source, and as root
 *   with apt installs missing system packages itself, so a fresh machine needs only
 *   `npm install` (KAZOO_AMQP_INSTALL_DEPS=0 turns that off).
 * KAZOO_AMQP_BUILD_FROM_SOURCE=1 builds from source even where a prebuilt binary loads.
 *
 * A source build links the system librabbitmq, json-c and libuuid (Debian: librabbitmq-dev,
 * libjson-c-dev, uuid-dev); a half-built addon is worse than none, so a missing one stops here.
 */
'use strict';
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const developmentCheckout = fs.existsSync(path.join(root, 'test'));

/** pkg-config module -> Debian package that provides it (lib/load-binding.ts lists the same). */
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
];
/** Tools only a development checkout needs (`npm run lint`) -> Debian package. */
const DEV_TOOLS = [['clang-format', 'clang-format']];
/** A checkout being developed, not a copy installed as a dependency under node_modules/. */
const DEV_CHECKOUT = !__dirname.split(path.sep).includes('node_modules');

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

function mayInstallPackages() {
  const asked = process.env.KAZOO_AMQP_INSTALL_DEPS;
  return developmentCheckout ? asked !== '0' : asked === '1';
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

/** The prebuilt binary's file when it exists and loads in this process, else why not. */
function usablePrebuilt() {
  // dist/ is in the published package; in a checkout this is never reached.
  const { platformTag, ADDON_FILE } = require('../dist/lib/load-binding.js');
  const file = path.join(root, 'prebuilds', platformTag(), ADDON_FILE);
  if (!fs.existsSync(file)) return { reason: `no prebuilt binary for ${platformTag()}` };
  try {
    require(file);
    return { file };
  } catch (error) {
    return { reason: `the prebuilt binary for ${platformTag()} does not load: ${String(error.message).split('\n')[0]}` };
  }
}

if (!developmentCheckout && process.env.KAZOO_AMQP_BUILD_FROM_SOURCE !== '1') {
  const prebuilt = usablePrebuilt();
  if (prebuilt.file) {
    console.log(`kazoo-amqp: using the prebuilt binary ${path.relative(root, prebuilt.file)}`);
    process.exit(0);
  }
  console.log(`kazoo-amqp: ${prebuilt.reason}; building from source`);
}

let missing = missingPackages();
if (missing.length && mayInstallPackages() && tryAptInstall(missing)) missing = missingPackages();
if (missing.length) {
  const lines = [
    `kazoo-amqp: cannot build the native addon, missing system packages: ${missing.join(', ')}`,
    `  install them with:  sudo apt-get install -y ${missing.join(' ')}`,
  ];
  if (developmentCheckout) {
    lines.push('  then run npm install again.');
  } else {
    lines.push(
      '  (or set KAZOO_AMQP_INSTALL_DEPS=1 to let this script install them with apt when run as root)',
      '  then build it; if npm skipped this script, approve it first:',
      '    npm install-scripts approve kazoo-amqp && npm rebuild kazoo-amqp',
    );
  }
  console.error(lines.join('\n'));
  process.exit(1);
}

// Lint tools are a convenience: their absence never stops the build (npm run lint says what to install).
if (DEV_CHECKOUT) {
  const devMissing = DEV_TOOLS.filter(([tool]) => !has('sh', ['-c', `command -v ${tool}`])).map(([, pkg]) => pkg);
  if (devMissing.length && !tryAptInstall(devMissing)) {
    console.warn(`kazoo-amqp: npm run lint needs: ${devMissing.join(' ')} (sudo apt-get install -y ${devMissing.join(' ')})`);
  }
}

const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
execFileSync(process.execPath, [cmakeJs, 'compile', '--directory', root], { stdio: 'inherit' });
