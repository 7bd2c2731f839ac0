/**
 * The documents stay true to the code: the README's configuration table is the one generated
 * from the parameter declarations (lib/config.ts), docs/configuration.md agrees with them on
 * every parameter's default, effect and origin, and every error code is documented.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { declarationOf, PARAM_NAMES } from '../../lib/config';
import { readmeWithTable, shownEffect } from '../../lib/config-docs';

const root = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

/** docs/configuration.md rows by key: [modparam name, key, type, default, range, effect, notes]. */
function configurationRows(): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of read('docs/configuration.md').split('\n')) {
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    const key = /^`([a-z_]+)`$/.exec(cells[1] ?? '')?.[1];
    if (cells.length === 7 && key) rows.set(key, cells);
  }
  return rows;
}

describe('documentation', () => {
  it('README.md holds the configuration table generated from lib/config.ts (npm run docs:config)', () => {
    const readme = read('README.md');
    expect(readmeWithTable(readme)).toBe(readme);
  });

  const rows = configurationRows();

  it('docs/configuration.md has one row per declared parameter, and no other', () => {
    expect([...rows.keys()].sort()).toEqual([...PARAM_NAMES].sort());
  });

  it.each(PARAM_NAMES)("docs/configuration.md agrees with %s's declaration (origin, default, effect)", (name) => {
    const d = declarationOf(name);
    const [modparam, , , shownDefault, , effect] = rows.get(name) ?? [];
    expect(modparam).toBe(d.origin === 'ours' ? '—' : `\`${name}\``);
    expect(effect).toBe(shownEffect(name));
    const plain = (s: string) => s.replace(/[`']/g, '');
    const expected = d.required ? '—' : (d.defaultText ?? (d.default === null ? 'null' : String(d.default)));
    expect(plain(shownDefault ?? '')).toMatch(new RegExp(`^${plain(expected).replace(/[$()|.*+?[\]\\]/g, '\\$&')}( |$)`));
  });

  it('documents every error code in docs/errors.md', () => {
    const codes = [...read('lib/errors.ts').matchAll(/\| '([A-Z_]+)'/g)].map((m) => m[1]);
    expect(codes.length).toBeGreaterThan(10);
    for (const code of codes) expect(read('docs/errors.md')).toContain(code);
  });

  it('shows both README commands', () => {
    const readme = read('README.md');
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm install && npm test');
  });
});
