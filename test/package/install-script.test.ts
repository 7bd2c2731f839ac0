/**
 * scripts/install.js as a consumer's npm runs it, in a scratch copy of the published layout:
 * a prebuilt binary that loads means no build; without one and without the build tools it
 * stops with the packages and the approve command, and never runs apt-get unless asked.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADDON_FILE, platformTag } from '../../lib/load-binding';

const repoRoot = join(__dirname, '..', '..');
let root: string;

/** A package as npm unpacks it: scripts/install.js and dist/lib (compiled by `npm test`). */
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'kazoo-amqp-install-'));
  mkdirSync(join(root, 'scripts'));
  copyFileSync(join(repoRoot, 'scripts', 'install.js'), join(root, 'scripts', 'install.js'));
  cpSync(join(repoRoot, 'dist', 'lib'), join(root, 'dist', 'lib'), { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Runs the script with a PATH of only `sh` and `node`: no compiler, cmake, pkg-config or apt-get. */
function runInstall(env: Record<string, string> = {}) {
  const bin = join(root, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const tool of ['sh', 'node']) {
    const target = tool === 'node' ? process.execPath : '/bin/sh';
    if (!existsSync(join(bin, tool))) symlinkSync(target, join(bin, tool));
  }
  return spawnSync(process.execPath, [join(root, 'scripts', 'install.js')], {
    cwd: root,
    env: { PATH: bin, HOME: root, ...env },
    encoding: 'utf8',
  });
}

describe('scripts/install.js in an installed package', () => {
  it('uses a prebuilt binary that loads, and builds nothing', () => {
    const file = join(root, 'prebuilds', platformTag(), ADDON_FILE);
    mkdirSync(join(file, '..'), { recursive: true });
    copyFileSync(join(repoRoot, 'build', 'Release', ADDON_FILE), file);
    const result = runInstall();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`using the prebuilt binary prebuilds/${platformTag()}/${ADDON_FILE}`);
    expect(existsSync(join(root, 'build'))).toBe(false);
  });

  it('without a prebuilt binary or build tools, names the packages and the approve command, and exits 1', () => {
    const result = runInstall();
    expect(result.status).toBe(1);
    expect(result.stdout).toContain(`no prebuilt binary for ${platformTag()}; building from source`);
    expect(result.stderr).toContain(
      'sudo apt-get install -y pkg-config cmake g++ make librabbitmq-dev libjson-c-dev uuid-dev libssl-dev',
    );
    expect(result.stderr).toContain('KAZOO_AMQP_INSTALL_DEPS=1');
    expect(result.stderr).toContain('npm install-scripts approve kazoo-amqp && npm rebuild kazoo-amqp');
    expect(result.stdout).not.toContain('installing system packages');
  });

  it('a prebuilt binary that does not load counts as none', () => {
    const file = join(root, 'prebuilds', platformTag(), ADDON_FILE);
    mkdirSync(join(file, '..'), { recursive: true });
    copyFileSync(join(repoRoot, 'package.json'), file);
    const result = runInstall();
    expect(result.status).toBe(1);
    expect(result.stdout).toContain(`the prebuilt binary for ${platformTag()} does not load`);
  });
});
