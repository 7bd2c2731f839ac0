/**
 * The addon loader (lib/load-binding.ts) against real files in a scratch package root: the order
 * it tries, that it loads a real binary from prebuilds/, and the one ADDON_NOT_FOUND error with
 * its advice when nothing loads.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KazooError } from '../../lib';
import { ADDON_FILE, BUILD_PACKAGES, bindingCandidates, loadBinding, platformTag } from '../../lib/load-binding';

const repoRoot = join(__dirname, '..', '..');
const builtAddon = join(repoRoot, 'build', 'Release', ADDON_FILE);
let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'kazoo-amqp-loader-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function place(kind: 'prebuilt' | 'source', content?: string): string {
  const file = kind === 'prebuilt' ? join(root, 'prebuilds', platformTag(), ADDON_FILE) : join(root, 'build', 'Release', ADDON_FILE);
  mkdirSync(join(file, '..'), { recursive: true });
  if (content === undefined) copyFileSync(builtAddon, file);
  else writeFileSync(file, content);
  return file;
}

function loadError(): KazooError {
  try {
    loadBinding(root);
  } catch (error) {
    if (error instanceof KazooError) return error;
    throw error;
  }
  throw new Error('loadBinding did not throw');
}

describe('platformTag()', () => {
  it('names this process as prebuilds/ folders do', () => {
    expect(platformTag()).toBe(process.platform === 'linux' ? `linux-${process.arch}-glibc` : `${process.platform}-${process.arch}`);
  });
});

describe('bindingCandidates()', () => {
  it('tries the prebuilt binary first in an installed package', () => {
    expect(bindingCandidates(root).map((c) => c.kind)).toEqual(['prebuilt', 'source']);
  });

  it('tries the source build first in a development checkout (a test/ folder)', () => {
    mkdirSync(join(root, 'test'));
    expect(bindingCandidates(root).map((c) => c.kind)).toEqual(['source', 'prebuilt']);
  });
});

describe('loadBinding()', () => {
  it('loads the prebuilt binary when it is there', () => {
    const file = place('prebuilt');
    place('source', 'not an addon');
    const { binding, attempt } = loadBinding(root);
    expect(attempt).toEqual({ kind: 'prebuilt', file });
    expect((binding as { json: (p: string, path: string, esc: string) => string }).json('{"a":[5]}', 'a[0]', '%')).toBe('5');
  });

  it('falls back to the source build when the prebuilt binary does not load', () => {
    place('prebuilt', 'not an ELF file');
    const file = place('source');
    expect(loadBinding(root).attempt).toEqual({ kind: 'source', file });
  });

  it('throws one ADDON_NOT_FOUND error with the packages and the approve command when nothing is there', () => {
    const error = loadError();
    expect(error.code).toBe('ADDON_NOT_FOUND');
    expect(error.message).toContain(`kazoo: no native addon loads on ${platformTag()}`);
    expect(error.message).toContain(`prebuilt ${join(root, 'prebuilds', platformTag(), ADDON_FILE)}: not there`);
    expect(error.message).toContain(`source ${join(root, 'build', 'Release', ADDON_FILE)}: not there`);
    expect(error.message).toContain(`sudo apt-get install -y ${BUILD_PACKAGES.join(' ')}`);
    expect(error.message).toContain('npm install-scripts approve kazoo-amqp && npm rebuild kazoo-amqp');
    expect(error.details.platform).toBe(platformTag());
    expect(error.details.tried).toHaveLength(2);
  });

  it("says why a binary that is there did not load (the loader's reason, one line)", () => {
    place('prebuilt', 'not an ELF file');
    const error = loadError();
    expect(error.code).toBe('ADDON_NOT_FOUND');
    expect(error.message).toMatch(/prebuilt .*kazoo_amqp\.node: .*(invalid ELF header|file too short)/);
  });
});
