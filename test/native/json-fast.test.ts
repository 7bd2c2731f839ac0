/**
 * json()'s V8 fast route (lib/json.ts) against the native json-c lookup, value for value, on the
 * module's JSON-path example document (docs/module-behaviour.md#json-paths) and on generated documents and paths, including the inputs the fast route
 * must hand to json-c (lenient syntax, numbers, deep nesting, \u0000 keys, lone surrogates).
 * The second generator aims at lib/json-scan.ts: duplicate keys, escapes in keys and values,
 * numbers of every shape, whitespace, nesting around json-c's depth limit, broken documents, and
 * jsonCount(); it also checks that the fast route answers most lookups itself.
 */
import { json, jsonCount } from '../../lib/json';
import { scanJson } from '../../lib/json-scan';
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

  // Cases the scanner answers itself (or must give up on), each against json-c.
  const TRICKY: Array<[string, string]> = [
    ['{"a":1} x', 'a'], ['{"a":1}}', 'a'], ['{"a":1} /', 'a'], ['{"a":1} //c', 'a'], ['{"a":"x"}\u0000', 'a'], ['{"a":"x\u0000"}', 'a'],
    ['{"a":"\\ud83d\\ude00"}', 'a'], ['{"a":"\ud83d\\ude00"}', 'a'], ['{"a":"\\ud83d"}', 'a'], ['{"a":"x\ud800"}', 'a'],
    ['{"a\\u0000b":1,"a":2}', 'a'], ['{"a":2,"a\\u0000b":1}', 'a'], ['{"a":1,"a":{"b":2}}', 'a.b'], ['{"a":{"b":2},"a":1}', 'a.b'],
    ['{"a":{"b":2},"a":null}', 'a.b'], ['{"a":"x","a":[1]}', 'a'], ['{"\\u0061":"esc"}', 'a'], ['{"x.y":1}', 'x%y'], ['{"x\\u002ey":1}', 'x%y'],
    ['{"a":-0}', 'a'], ['{"a":-0.0}', 'a'], ['{"a":1e999}', 'a'], ['{"a":12.50}', 'a'], ['{"a":1E+3}', 'a'], ['{"a":123456789012345678}', 'a'],
    ['{"a":-123456789012345678}', 'a'], ['{"a":1234567890123456789}', 'a'], ['{"a":18446744073709551616}', 'a'], ['{"a":007}', 'a'],
    ['{"a":[1,2,3]}', 'a[1]'], ['{"a":[1,2,3]}', 'a[3]'], ['{"a":[1,null]}', 'a[1]'], ['{"a":"s"}', 'a[0]'], ['{"a":{"b":1}}', 'a[0].b'],
    ['{"a":[{"b":1}]}', 'a.b'], ['[{"a":1}]', 'a'], ['"a"', 'a'], ['', 'a'], [' \t\r\n{ "a" : "ws" } ', 'a'], ['{"a":"raw\ttab"}', 'a'],
    ['{"a":"x",}', 'a'], ["{'a':'x'}", 'a'], ['{"a":TRUE}', 'a'], ['{"a":true}', 'a'], ['{"a":nul}', 'a'], ['{"a":"x"', 'a'], ['{"a":"\\x"}', 'a'],
    ['{"b":"\\q","a":"x"}', 'a'], ['{"a":"x"}\u000b', 'a'], ['{"a":"x",\u00a0"b":1}', 'a'], ['{"a":{}}', 'a'], ['{"a":[]}', 'a'],
  ];
  const nested = (levels: number, inner: string): [string, string] => [`${'{"a":'.repeat(levels)}${inner}${'}'.repeat(levels)}`, Array(levels).fill('a').join('.')];
  for (let levels = 29; levels <= 33; levels++) TRICKY.push(nested(levels, '1'), nested(levels, '{}'), nested(levels, '[]'), nested(levels, '[1]'));

  it.each(TRICKY)('agrees with json-c on %j at %j (json and jsonCount)', (doc, path) => {
    expect(json(doc, path)).toBe(native.json(doc, path, '%'));
    expect(jsonCount(doc, path)).toBe(native.jsonCount(doc, path, '%'));
  });

  describe('scanner', () => {
    const next = rng(12);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
    const chance = (p: number): boolean => next() < p;
    // Keys: plain, escaped spellings of plain ones (\u0061 is "a"), a \u0000 key json-c cuts to
    // "a", dotted, non-ASCII raw and escaped, surrogate pairs and lone surrogates raw and escaped.
    const KEYS = ['a', 'b', 'a', 'Count', '\\u0061', 'a\\u0000b', 'x.y', 'x\\u002ey', 'é', '\\u00e9', '😀', '\\ud83d\\ude00', '\\ud800', '\ud800', '\\/', '', 'a b'];
    const PATH_KEYS = ['a', 'b', 'a', 'Count', 'x%y', 'é', '😀', '', 'a b', '/', '\ud800', '\ufffd', 'a\u0000', 'a[', '[0]', 'a[1]x', 'a]'];
    const INDEXES = ['0', '1', '2', '-1', '', 'x', ' 2', '+1', '\t1', '\v1', '01', '2147483647', '2147483648', '-2147483648', '1 ', '--1', '+-1', ' ', '0[1'];
    // Each list: what the scanner answers itself, then (picked rarely, so that most documents stay
    // in its reach) what json-c reads differently from strict JSON or rejects.
    const STRINGS = [
      ['v', 'http:\\/\\/x\\/y', 'a\\"b', '\\\\', '\\b\\f\\n\\r\\t', '\\u00e9\\u20ac', '\\u0041', 'a\\u0000b', 'raw\ttab', 'raw\u0001ctl',
        '😀', '\\ud83d\\ude00', '\\uD83D\\uDE00', '\\ud800', '\\udc00', '\\ud83d\\n', '\\ud83dx', '\\ud83d\\ud83d\\ude00', '\ud83d\\ude00',
        '\ud800', 'x\udc00', 'é€', ''],
      ['\\x', '\\u12', '\\u12G4', "it's", '\\u', '\\'],
    ];
    const NUMBERS = [
      ['0', '-0', '-0.0', '1', '-1', '12.50', '1e3', '1E+3', '1e-3', '-1.5e-7', '0.1e1', '1e999', '123456789012345678', '-123456789012345678',
        '1234567890123456789', '9223372036854775807', '9223372036854775808', '18446744073709551615', '18446744073709551616',
        '-9223372036854775809', '99999999999999999999999'],
      ['007', '01', '1.', '.5', '-', '1e', '1e+', '+1', 'NaN', 'Infinity', '-Infinity', '0x10', '1.5.3', '2.', '-01'],
    ];
    const LITERALS = [['true', 'false', 'null'], ['TRUE', 'True', 'nul', 'tru', 'falsey', 'nullx', 'NULL']];
    const WS = [[' ', '\n', '\t', '\r\n', '  '], ['\u000b', '\u00a0', '\f', '/*c*/', '//c\n', '/']];
    const from = (lists: string[][]): string => pick(lists[chance(0.04) ? 1 : 0]);
    const w = (): string => (chance(0.3) ? from(WS) : '');

    const scalar = (): string => {
      const r = next();
      if (r < 0.45) return chance(0.01) ? `'${from(STRINGS)}'` : `"${from(STRINGS)}"`;
      if (r < 0.8) return from(NUMBERS);
      return from(LITERALS);
    };
    const value = (depth: number): string => {
      const r = next();
      if (depth < 5 && r < 0.25) return object(depth + 1);
      if (depth < 5 && r < 0.4) return `[${w()}${Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1)).join(`${w()},${w()}`)}${chance(0.01) ? ',' : ''}${w()}]`;
      return scalar();
    };
    const member = (depth: number): string => {
      const key = chance(0.01) ? pick(["'a'", 'a', '"a', '"\\x"']) : `"${pick(KEYS)}"`;
      return `${w()}${key}${w()}:${w()}${value(depth)}`;
    };
    const object = (depth: number): string =>
      `{${Array.from({ length: Math.floor(next() * 5) }, () => member(depth)).join(chance(0.01) ? ' ' : ',')}${chance(0.01) ? ',' : ''}${w()}}`;
    // Nesting around json-c's limit (a container at depth 32 cannot hold anything): the path
    // follows it down to the innermost value.
    const deep = (): [string, string] => {
      const levels = 27 + Math.floor(next() * 8);
      const inner = pick(['1', '"s"', '[]', '{}', '[1]', '{"a":1}']);
      return [`${'{"a":'.repeat(levels)}${inner}${'}'.repeat(levels)}`, Array.from({ length: levels }, () => 'a').join('.')];
    };
    const document = (): string => {
      const r = next();
      let doc: string;
      if (r < 0.04) doc = pick(['[1,2]', '"s"', '12', 'null', '', '  ', 'true', '/*c*/{"a":1}', '\ufeff{"a":1}', '[{"a":1}]']);
      else doc = `${w()}${object(0)}${w()}`;
      const m = next();
      if (m < 0.03) doc += pick(['x', '}', ' {"a":2}', '/', ' //c', '/*', ',']); // text after the root
      else if (m < 0.05) doc = doc.slice(0, Math.floor(next() * doc.length)); // truncated
      else if (m < 0.06) doc = doc.replace(/,/, '\u0000'); // a NUL byte
      return doc;
    };
    const path = (): string =>
      Array.from({ length: 1 + Math.floor(next() * 3) }, () => {
        const k = pick(PATH_KEYS);
        return chance(0.3) ? `${k}[${pick(INDEXES)}]` : k;
      }).join('.') + (chance(0.05) ? '.' : '');

    it('agrees with json-c on 20,000 generated lookups and array counts, and answers most itself', () => {
      let answered = 0;
      for (let i = 0; i < 20000; i++) {
        const [doc, p] = chance(0.05) ? deep() : [document(), path()];
        const ours = json(doc, p);
        const reference = native.json(doc, p, '%');
        if (ours !== reference) throw new Error(`lookup ${i} differs: ${JSON.stringify(doc)} @ ${JSON.stringify(p)}: ${JSON.stringify(ours)} vs ${JSON.stringify(reference)}`);
        const count = jsonCount(doc, p);
        const referenceCount = native.jsonCount(doc, p, '%');
        if (count !== referenceCount) throw new Error(`count ${i} differs: ${JSON.stringify(doc)} @ ${JSON.stringify(p)}: ${count} vs ${referenceCount}`);
        if (scanJson(doc, [{ name: 'zz', index: undefined }], false) !== undefined) answered++;
      }
      // Most documents are strict JSON: the scanner must read them itself (a key that never occurs
      // makes this about reading the document, not about the value found).
      expect(answered).toBeGreaterThan(11000);
    });

    it.each(['%', '.', '[', 'é', 'a', '\u0000'])('agrees with json-c with escape character %p', (escapeChar) => {
      for (let i = 0; i < 2000; i++) {
        const doc = document();
        const p = path().replace(/%/g, escapeChar);
        expect([doc, p, json(doc, p, { escapeChar })]).toEqual([doc, p, native.json(doc, p, escapeChar)]);
        expect([doc, p, jsonCount(doc, p, { escapeChar })]).toEqual([doc, p, native.jsonCount(doc, p, escapeChar)]);
      }
    });
  });
});
