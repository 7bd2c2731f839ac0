/**
 * json()'s V8 fast route (lib/json.ts) against the native json-c lookup, value for value, on the
 * module's JSON-path example document (docs/module-behaviour.md#json-paths) and on generated documents and paths, including the inputs the fast route
 * must hand to json-c (lenient syntax, numbers, deep nesting, \u0000 keys, lone surrogates).
 */
import { json } from '../../lib/json';
import * as native from '../../lib/native';
import { rng } from '../support/random';

const SPEC_DOC =
  '{"Event-Category":"call_event","Channels":[{"switch_url":"sip:fs1.example.com:5060","Answered":true,"Duration":12.50},{"switch_url":"sip:fs2"}],' +
  '"Count":2,"Big":12345678901234,"Ratio":1e3,"Meta":{"a.b":"dotted","nested":{"x":null,"arr":[1,2,3]}},' +
  '"Flag":false,"Empty":{},"List":[],"Null":null,"Url":"http://x/y"}';
const SPEC_PATHS = [
  'Event-Category', 'Channels[0].switch_url', 'Channels[1].switch_url', 'Channels[2].switch_url', 'Channels[-1].switch_url',
  'Channels[abc].switch_url', 'Channels[0]xyz.switch_url', 'Channels[0]', 'Channels', 'Channels[0].Answered',
  'Channels[0].Duration', 'Count', 'Count[0]', 'Big', 'Ratio', 'Meta.a%b', 'Meta.a.b', 'Meta.nested.x',
  'Meta.nested.arr[1]', 'Meta.nested.arr[1][0]', 'Meta.nested.arr', 'Flag', 'Empty', 'List', 'Url',
  'Event-Category.sub', 'Count.', '.Count', 'Meta..nested', '', '[0]', 'Channels[', 'Channels[ 1].switch_url',
  'Channels[+1].switch_url', 'Channels[99999999999].switch_url', 'Null', 'Missing',
];

describe('json() fast route', () => {
  it.each(SPEC_PATHS)('agrees with json-c on the spec document for %p', (path) => {
    expect(json(SPEC_DOC, path)).toBe(native.json(SPEC_DOC, path, '%'));
  });

  it('agrees with json-c on 20,000 generated lookups', () => {
    const next = rng(7);
    const pick = <T,>(xs: T[]) => xs[Math.floor(next() * xs.length)];
    const keys = ['a', 'b', 'Event-Name', 'x.y', 'k', '__proto__', 'é'];
    const strings = ['"v"', '"http://x/y"', '"\\u00e9"', '"\\ud800"', '"a\\u0000b"', '"\\n\\t"', '"😀"', "'single'"];
    const value = (depth: number): string => {
      const r = next();
      if (depth < 4 && r < 0.25) return `{${Array.from({ length: Math.floor(next() * 4) }, () => `"${pick(keys)}": ${value(depth + 1)}`).join(', ')}}`;
      if (depth < 4 && r < 0.4) return `[${Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1)).join(', ')}]`;
      if (r < 0.75) return pick(strings);
      return pick(['1', '12.50', '1e3', 'true', 'false', 'null', 'TRUE', '007']);
    };
    const paths = () =>
      Array.from({ length: 1 + Math.floor(next() * 3) }, () => {
        const k = pick(keys).replace('.', '%');
        return next() < 0.3 ? `${k}[${pick(['0', '1', '-1', '', 'x', ' 2'])}]` : k;
      }).join('.');
    for (let i = 0; i < 20000; i++) {
      const doc = next() < 0.05 ? `${'['.repeat(40)}${']'.repeat(40)}` : `{${Array.from({ length: 1 + Math.floor(next() * 5) }, () => `"${pick(keys)}": ${value(0)}`).join(', ')}}`;
      const path = paths();
      const ours = json(doc, path);
      const reference = native.json(doc, path, '%');
      if (ours !== reference) throw new Error(`lookup ${i} differs: ${doc} @ ${path}: ${ours} vs ${reference}`);
    }
  });
});
