/**
 * The documents stay true to the code: the README's configuration table is the one generated
 * from lib/config.ts, and every parameter and error code is documented.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULTS } from '../../lib';

const root = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { readmeWithTable } = require(join(root, 'scripts', 'config-table.js')) as { readmeWithTable: (s: string) => string };

const PARAMETERS = ['node_hostname', 'amqp_connection', ...Object.keys(DEFAULTS)];

describe('documentation', () => {
  it('README.md holds the configuration table generated from lib/config.ts', () => {
    const readme = read('README.md');
    expect(readmeWithTable(readme)).toBe(readme);
  });

  it.each(PARAMETERS)('documents parameter %s in README.md and docs/configuration.md', (name) => {
    expect(read('README.md')).toContain(`\`${name}\``);
    expect(read('docs/configuration.md')).toContain(name);
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
