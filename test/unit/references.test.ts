/**
 * Every reference in code and docs resolves inside the repository: `docs/<file>.md#<anchor>` in
 * source comments and test names, and relative Markdown links `(<file>.md#<anchor>)` in the
 * documents, name an existing file and heading; and nothing cites numbered sections (the
 * section sign, U+00A7) of a document the repository does not hold.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const root = join(__dirname, '..', '..');
const SCANNED = ['lib', 'test', 'bench', 'typings', 'examples', 'scripts', 'docs', 'README.md'];
const SKIP = new Set(['node_modules', 'dist', 'build']);
const SECTION_SIGN = '\u00a7';

function files(path: string): string[] {
  const full = join(root, path);
  if (!statSync(full).isDirectory()) return [path];
  return readdirSync(full).flatMap((name) => (SKIP.has(name) ? [] : files(join(path, name))));
}

const sources = SCANNED.flatMap(files).filter((f) => /\.(ts|js|mjs|md)$/.test(f));

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, (c) => (c === '_' ? '_' : ''))
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

const anchorCache = new Map<string, Set<string>>();
function anchors(file: string): Set<string> {
  let set = anchorCache.get(file);
  if (!set) {
    const text = readFileSync(join(root, file), 'utf8').replace(/```[\s\S]*?```/g, '');
    set = new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1])));
    anchorCache.set(file, set);
  }
  return set;
}

/** [file, line, target file relative to the root, anchor or ''] of every reference in `file`. */
function referencesIn(file: string): Array<[string, number, string, string]> {
  const out: Array<[string, number, string, string]> = [];
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  lines.forEach((line, i) => {
    for (const m of line.matchAll(/(?<![\w/.-])(docs\/[\w-]+\.md)(?:#([\w-]+))?/g)) out.push([file, i + 1, m[1], m[2] ?? '']);
    if (file.endsWith('.md')) {
      for (const m of line.matchAll(/\]\(([\w./-]*\.md)?(?:#([\w-]+))?\)/g)) {
        if (m[1] === undefined && m[2] === undefined) continue;
        const target = m[1] === undefined ? file : relative(root, join(root, dirname(file), m[1]));
        out.push([file, i + 1, target, m[2] ?? '']);
      }
    }
  });
  return out;
}

describe('references', () => {
  const all = sources.flatMap(referencesIn);

  it('finds the references it checks', () => {
    expect(all.length).toBeGreaterThan(100);
  });

  it('resolve to a file and heading inside the repository', () => {
    const broken = all
      .filter(([, , target, anchor]) => !existsSync(join(root, target)) || (anchor !== '' && !anchors(target).has(anchor)))
      .map(([file, line, target, anchor]) => `${file}:${line} → ${target}${anchor ? `#${anchor}` : ''}`);
    expect(broken).toEqual([]);
  });

  it('cite no numbered sections of documents outside the repository', () => {
    const cited = sources.flatMap((file) =>
      readFileSync(join(root, file), 'utf8')
        .split('\n')
        .flatMap((line, i) => (line.includes(SECTION_SIGN) ? [`${file}:${i + 1}`] : [])),
    );
    expect(cited).toEqual([]);
  });
});
