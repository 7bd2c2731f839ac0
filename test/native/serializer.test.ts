/**
 * The native serializer (written for speed) against json-c's own: byte for byte on generated
 * documents covering every value kind, escapes, non-ASCII, big integers and kept double texts.
 */
import { reserialize } from '../../lib/native';
import { rng } from '../support/random';

const STRING_PIECES = ['a', 'Z', ' ', '/', '\\\\', '\\"', '\\n', '\\t', '\\b', '\\f', '\\r', '\\u0001', '\\u001f', '\\u007f', 'é', '€', '😀', '\\u00e9', "'", '<>&', 'http://x/y'];
const NUMBERS = ['0', '-1', '7', '12.50', '1e3', '-0.0', '1E+03', '9223372036854775807', '18446744073709551615', '-9223372036854775808', '3.14159265358979', '0.1', '100'];
const LITERALS = ['true', 'false', 'null', 'TRUE', 'Null'];

function value(next: () => number, depth: number): string {
  const r = next();
  if (depth < 4 && r < 0.15) {
    const n = Math.floor(next() * 4);
    return `{${Array.from({ length: n }, () => `${str(next)}: ${value(next, depth + 1)}`).join(', ')}}`;
  }
  if (depth < 4 && r < 0.3) {
    const n = Math.floor(next() * 4);
    return `[${Array.from({ length: n }, () => value(next, depth + 1)).join(', ')}]`;
  }
  if (r < 0.6) return str(next);
  if (r < 0.85) return NUMBERS[Math.floor(next() * NUMBERS.length)];
  return LITERALS[Math.floor(next() * LITERALS.length)];
}

function str(next: () => number): string {
  const n = Math.floor(next() * 6);
  return `"${Array.from({ length: n }, () => STRING_PIECES[Math.floor(next() * STRING_PIECES.length)]).join('')}"`;
}

describe('serialize_json', () => {
  it('matches json-c byte for byte on 5,000 generated documents', () => {
    const next = rng(20261126);
    for (let i = 0; i < 5000; i++) {
      const n = 1 + Math.floor(next() * 6);
      const doc = `{${Array.from({ length: n }, () => `${str(next)}: ${value(next, 0)}`).join(', ')}}`;
      const ours = reserialize(doc);
      const reference = reserialize(doc, true);
      if (ours !== reference) throw new Error(`document ${i} differs:\n${doc}\nours: ${ours}\njson-c: ${reference}`);
    }
  });

  it.each([
    ['{}', '{ }'],
    ['[]', '[ ]'],
    ['{"a":[],"b":{}}', '{ "a": [ ], "b": { } }'],
    ['{"Url":"http://x/y","a":"x\\u0001y"}', '{ "Url": "http:\\/\\/x\\/y", "a": "x\\u0001y" }'],
    ['{"big":18446744073709551615,"neg":-9223372036854775808}', '{ "big": 18446744073709551615, "neg": -9223372036854775808 }'],
    ['{"d":12.50,"e":1e3}', '{ "d": 12.50, "e": 1e3 }'],
  ])('renders %s as json-c does', (input, expected) => {
    expect(reserialize(input)).toBe(expected);
    expect(reserialize(input, true)).toBe(expected);
  });
});
