/**
 * Finds and loads the native addon: the prebuilt binary shipped in the npm package for this
 * platform (prebuilds/<platform>-<arch>[-<libc>]/kazoo_amqp.node) first, then a source build
 * (build/Release/kazoo_amqp.node). When none loads, throws one `ADDON_NOT_FOUND` error that says
 * what to install and how to let npm run the build.
 *
 * Also used by scripts/install.js (from dist/) to decide whether an install must build at all.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KazooError } from './errors';

/** File name of the addon in both places. */
export const ADDON_FILE = 'kazoo_amqp.node';

/**
 * Debian packages a source build needs (scripts/install.js keeps the same list, since it runs
 * before dist/ exists in a development checkout).
 */
export const BUILD_PACKAGES = ['librabbitmq-dev', 'libjson-c-dev', 'uuid-dev', 'libssl-dev', 'pkg-config', 'cmake', 'g++', 'make'];

/** Platforms the package ships a prebuilt binary for, with what that binary needs. */
export const PREBUILT_PLATFORMS: Readonly<Record<string, string>> = {
  'linux-x64-glibc': 'glibc ≥ 2.34 and OpenSSL 3 (libssl.so.3)',
};

/** One place the loader looked, and why it was not used. */
export interface BindingAttempt {
  /** `prebuilt` (shipped in the package) or `source` (built by the install script). */
  kind: 'prebuilt' | 'source';
  file: string;
  /** Why it did not load; absent for the one that loaded. */
  error?: string;
}

/**
 * Root of the installed package: this file runs from lib/ (ts-jest) or dist/lib/ (compiled).
 */
export function packageRoot(): string {
  const here = __dirname;
  return path.basename(path.dirname(here)) === 'dist' ? path.resolve(here, '../..') : path.resolve(here, '..');
}

/**
 * The prebuilds/ folder name for this process: `<platform>-<arch>`, plus `-glibc` or `-musl` on
 * Linux, since a glibc binary does not load on musl (Alpine).
 */
export function platformTag(): string {
  const base = `${process.platform}-${process.arch}`;
  if (process.platform !== 'linux') return base;
  return `${base}-${linuxLibc()}`;
}

let libc: 'glibc' | 'musl' | undefined;

function linuxLibc(): 'glibc' | 'musl' {
  if (libc) return libc;
  // ldd is a script naming its libc on both (as detect-libc reads it): a file read, where
  // process.report.getReport() costs ~20 ms of start-up.
  try {
    const ldd = fs.readFileSync('/usr/bin/ldd', 'latin1');
    if (ldd.includes('musl')) return (libc = 'musl');
    if (ldd.includes('GNU C Library') || ldd.includes('GLIBC')) return (libc = 'glibc');
  } catch {
    // no ldd (a minimal image): ask Node itself
  }
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return (libc = report?.header?.glibcVersionRuntime ? 'glibc' : 'musl');
}

/**
 * True in a source checkout of kazoo-amqp (its test/ folder is never in the published package).
 * There the source build is tried first: a prebuilt left behind by `npm pack` would be stale
 * after a change to native/.
 */
export function isDevelopmentCheckout(root: string = packageRoot()): boolean {
  return fs.existsSync(path.join(root, 'test'));
}

/** Where the loader looks, in order. */
export function bindingCandidates(root: string = packageRoot()): BindingAttempt[] {
  const prebuilt: BindingAttempt = { kind: 'prebuilt', file: path.join(root, 'prebuilds', platformTag(), ADDON_FILE) };
  const source: BindingAttempt = { kind: 'source', file: path.join(root, 'build', 'Release', ADDON_FILE) };
  return isDevelopmentCheckout(root) ? [source, prebuilt] : [prebuilt, source];
}

/**
 * Loads the first candidate that exists and loads.
 *
 * @throws KazooError `ADDON_NOT_FOUND` naming every place tried, why each failed, the Debian
 *   packages a source build needs and the npm command that lets the install script run.
 */
export function loadBinding(root: string = packageRoot()): { binding: unknown; attempt: BindingAttempt } {
  const attempts = bindingCandidates(root);
  for (const attempt of attempts) {
    if (!fs.existsSync(attempt.file)) {
      attempt.error = 'not there';
      continue;
    }
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the binding path is computed (prebuilt or built)
      return { binding: require(attempt.file), attempt };
    } catch (error) {
      attempt.error = error instanceof Error ? error.message.split('\n')[0] : String(error);
    }
  }
  throw new KazooError('ADDON_NOT_FOUND', addonNotFoundMessage(attempts), {
    platform: platformTag(),
    tried: attempts.map(({ file, error }) => ({ file, error })),
  });
}

/** The text of the ADDON_NOT_FOUND error; the install script prints the same advice. */
export function addonNotFoundMessage(attempts: BindingAttempt[]): string {
  const tag = platformTag();
  const shipped = Object.entries(PREBUILT_PLATFORMS)
    .map(([platform, needs]) => `${platform} (needs ${needs})`)
    .join(', ');
  return [
    `kazoo: no native addon loads on ${tag} (Node ${process.version})`,
    ...attempts.map(({ kind, file, error }) => `  ${kind} ${file}: ${error ?? 'not tried'}`),
    `  kazoo-amqp ships a prebuilt binary for ${shipped}; anywhere else its install script builds`,
    `  one from source, which needs (Debian/Ubuntu):`,
    `    sudo apt-get install -y ${BUILD_PACKAGES.join(' ')}`,
    `  npm skips a dependency's install script until it is approved; approve it and build with:`,
    `    npm install-scripts approve kazoo-amqp && npm rebuild kazoo-amqp`,
  ].join('\n');
}
