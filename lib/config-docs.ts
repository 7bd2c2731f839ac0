/**
 * The README's configuration table, generated from the parameter declarations in lib/config.ts
 * (`npm run docs:config` writes it; test/unit/docs.test.ts fails when README.md differs).
 */
import { declarationOf, PARAM_NAMES } from './config';

/** Markers around the generated table in README.md. */
export const CONFIG_TABLE_START = '<!-- config-table:start (generated from lib/config.ts by npm run docs:config) -->';
/** End marker of the generated table. */
export const CONFIG_TABLE_END = '<!-- config-table:end -->';

const cell = (s: string) => s.replace(/\n/g, ' ');

/** How the docs show a parameter's default: `` `value` ``, `unset` (null) or `required`. */
export function shownDefault(name: (typeof PARAM_NAMES)[number]): string {
  const d = declarationOf(name);
  if (d.required) return 'required';
  if (d.defaultText !== undefined) return d.defaultText;
  if (d.default === null) return 'unset';
  return `\`${typeof d.default === 'string' ? d.default : JSON.stringify(d.default)}\``;
}

/** How docs/configuration.md's Effect column shows a parameter. */
export function shownEffect(name: (typeof PARAM_NAMES)[number]): string {
  const d = declarationOf(name);
  if (d.noEffect !== undefined) return 'no effect + warning';
  return d.origin === 'ours' ? 'ours, live' : 'live';
}

/** The Markdown table: one row per parameter, in declaration order. */
export function configTable(): string {
  const rows = PARAM_NAMES.map((name) => {
    const d = declarationOf(name);
    const key = d.origin === 'ours' ? `\`${name}\` (ours)` : `\`${name}\``;
    return `| ${key} | ${cell(d.rule.type)} | ${shownDefault(name)} | ${cell(d.doc).replace(/\|/g, '\\|')} |`;
  });
  return ['| Parameter (Kamailio name; *ours*: kazoo-amqp only) | Type | Default | Meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/**
 * `readme` with the text between the table markers replaced by {@link configTable}.
 * @throws Error when the markers are missing.
 */
export function readmeWithTable(readme: string): string {
  const a = readme.indexOf(CONFIG_TABLE_START);
  const b = readme.indexOf(CONFIG_TABLE_END);
  if (a < 0 || b < a) throw new Error('README.md has no config-table markers');
  return readme.slice(0, a + CONFIG_TABLE_START.length) + '\n' + configTable() + '\n' + readme.slice(b);
}
