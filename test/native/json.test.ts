/**
 * kazoo_json / {kz.json.count} path lookups and json-c re-serialization (docs/module-behaviour.md#json-paths, #json-rules),
 * exercised through the native functions. No broker needed.
 */
import { json, jsonCount, reserialize } from '../../lib/native';

/** The example document of the module's JSON-path examples (rules: docs/module-behaviour.md#json-paths). */
const DOC =
  '{"Event-Category":"call_event",\n' +
  ' "Channels":[{"switch_url":"sip:fs1.example.com:5060","Answered":true,"Duration":12.50},{"switch_url":"sip:fs2"}],\n' +
  ' "Count":2,"Big":12345678901234,"Ratio":1e3,\n' +
  ' "Meta":{"a.b":"dotted","nested":{"x":null,"arr":[1,2,3]}},\n' +
  ' "Flag":false,"Empty":{},"List":[],"Null":null,"Url":"http://x/y"}';

const CHANNEL_0 = '{ "switch_url": "sip:fs1.example.com:5060", "Answered": true, "Duration": 12.50 }';

const at = (path: string): string | null => json(DOC, path, '%');

type Thrown = Error & { code?: unknown; position?: unknown };

/**
 * The error `fn` throws. Errors made by the addon come from Node's main realm, not from Jest's
 * test context, so they are checked by name rather than with instanceof.
 */
function thrown(fn: () => unknown): Thrown {
  try {
    fn();
  } catch (err) {
    return err as Thrown;
  }
  throw new Error('expected a throw');
}

describe('json()', () => {
  describe('follows the paths of docs/module-behaviour.md#json-paths', () => {
    it.each<[string, string | null]>([
      ['Event-Category', 'call_event'],
      ['Channels[0].switch_url', 'sip:fs1.example.com:5060'],
      ['Channels[1].switch_url', 'sip:fs2'],
      ['Meta.nested.arr[1]', '2'],
    ])('resolves %j to %j', (path, expected) => {
      expect(at(path)).toBe(expected);
    });

    it('returns null for an index past the end of an array', () => {
      expect(at('Channels[2].switch_url')).toBeNull();
    });

    it('returns null for a negative index', () => {
      expect(at('Channels[-1].switch_url')).toBeNull();
    });

    it('parses a non-numeric index as 0, like C atoi', () => {
      expect(at('Channels[abc].switch_url')).toBe('sip:fs1.example.com:5060');
    });

    it('ignores text after the first closing bracket', () => {
      expect(at('Channels[0]xyz.switch_url')).toBe('sip:fs1.example.com:5060');
      expect(at('Meta.nested.arr[1][0]')).toBe('2');
    });

    it('ignores an index on a value that is not an array', () => {
      expect(at('Count[0]')).toBe('2');
    });

    it('addresses a key containing a dot through the escape character', () => {
      expect(at('Meta.a%b')).toBe('dotted');
    });

    it('splits on every dot, so an unescaped dotted key is not found', () => {
      expect(at('Meta.a.b')).toBeNull();
    });

    it('treats a JSON null value as not found', () => {
      expect(at('Meta.nested.x')).toBeNull();
      expect(at('Null')).toBeNull();
    });

    it('returns null when looking up a key inside a scalar', () => {
      expect(at('Event-Category.sub')).toBeNull();
    });

    it('ignores a single trailing dot', () => {
      expect(at('Count.')).toBe('2');
    });
  });

  describe('renders values as the module does', () => {
    it('returns an object in json-c spaced serialization, doubles with their original text', () => {
      expect(at('Channels[0]')).toBe(CHANNEL_0);
    });

    it('returns an array in json-c spaced serialization', () => {
      expect(at('Channels')).toBe(`[ ${CHANNEL_0}, { "switch_url": "sip:fs2" } ]`);
      expect(at('Meta.nested.arr')).toBe('[ 1, 2, 3 ]');
    });

    it('renders empty objects and arrays with one inner space', () => {
      expect(at('Empty')).toBe('{ }');
      expect(at('List')).toBe('[ ]');
    });

    it('renders booleans as true / false', () => {
      expect(at('Channels[0].Answered')).toBe('true');
      expect(at('Flag')).toBe('false');
    });

    it('renders integers in decimal, including 64-bit ones', () => {
      expect(at('Count')).toBe('2');
      expect(at('Big')).toBe('12345678901234');
    });

    it('keeps the original text of doubles', () => {
      expect(at('Channels[0].Duration')).toBe('12.50');
      expect(at('Ratio')).toBe('1e3');
    });

    it('returns the raw content of a string, without JSON escaping', () => {
      expect(at('Url')).toBe('http://x/y');
      expect(json('{"s":"a\\nb\\u00e9\\/"}', 's', '%')).toBe('a\nb\u00e9/');
    });
  });

  describe('never crashes where the module does', () => {
    it.each([
      ['a leading dot', '.Count'],
      ['consecutive dots', 'Meta..nested'],
      ['an empty path', ''],
      ['a segment starting with [', '[0]'],
      ['an unterminated [', 'Channels[0'],
      ['a lone dot', '.'],
      ['two trailing dots', 'Count..'],
    ])('returns null for %s', (_what, path) => {
      expect(at(path)).toBeNull();
    });

    it('handles segments and indexes longer than the module buffers', () => {
      const key = 'k'.repeat(5000);
      expect(json(`{"${key}":{"v":1}}`, `${key}.v`, '%')).toBe('1');
      expect(json('{"a":[1,2]}', `a[${' '.repeat(3000)}1]`, '%')).toBe('2');
    });
  });

  describe('parses indexes like C atoi', () => {
    it.each([
      ['Channels[ 1].switch_url', 'sip:fs2'],
      ['Channels[1x].switch_url', 'sip:fs2'],
      ['Channels[+1].switch_url', 'sip:fs2'],
      ['Channels[-0].switch_url', 'sip:fs1.example.com:5060'],
    ])('resolves %j to %j', (path, expected) => {
      expect(at(path)).toBe(expected);
    });

    it('treats an empty index as no index and returns the array itself', () => {
      expect(at('Meta.nested.arr[]')).toBe('[ 1, 2, 3 ]');
    });

    it('returns null for an index beyond the int range instead of wrapping it', () => {
      expect(at('Meta.nested.arr[4294967296]')).toBeNull();
    });
  });

  describe('escape character', () => {
    it('uses whatever character it is given', () => {
      expect(json(DOC, 'Meta.a#b', '#')).toBe('dotted');
      expect(json(DOC, 'Meta.a%b', '#')).toBeNull();
    });

    it('turns escaping off for an empty string', () => {
      expect(json(DOC, 'Meta.a%b', '')).toBeNull();
    });
  });

  describe('documents', () => {
    it('returns null for a missing path', () => {
      expect(at('Missing')).toBeNull();
    });

    it('returns null for a document that is not valid JSON', () => {
      expect(json('{"a":', 'a', '%')).toBeNull();
      expect(json('', 'a', '%')).toBeNull();
    });

    it('cannot index into a top-level array', () => {
      expect(json('[1,2]', 'a', '%')).toBeNull();
    });

    it('reads lenient documents the way json-c does', () => {
      expect(json("{'a': {'b': [1, 2,],}, /* c */} junk", 'a.b[1]', '%')).toBe('2');
      expect(json('{"a":1,"a":2}', 'a', '%')).toBe('2');
      expect(json('{"a":nan}', 'a', '%')).toBe('NaN');
    });
  });

  it('throws a TypeError for arguments that are not strings', () => {
    const untyped = json as unknown as (...args: unknown[]) => unknown;
    const badPayload = thrown(() => untyped(1, 'a', '%'));
    expect(badPayload.name).toBe('TypeError');
    expect(badPayload.message).toBe('kazoo: payload must be a string, got number');
    expect(thrown(() => untyped('{}', null, '%')).message).toBe('kazoo: path must be a string, got null');
    expect(thrown(() => untyped('{}', 'a')).message).toBe('kazoo: escapeChar must be a string, got undefined');
  });
});

describe('jsonCount()', () => {
  it('returns the length of the array at the path', () => {
    expect(jsonCount(DOC, 'Channels', '%')).toBe(2);
    expect(jsonCount(DOC, 'Meta.nested.arr', '%')).toBe(3);
  });

  it('returns 0 for an empty array', () => {
    expect(jsonCount(DOC, 'List', '%')).toBe(0);
  });

  it('returns 0 for a value that is not an array', () => {
    expect(jsonCount(DOC, 'Count', '%')).toBe(0);
    expect(jsonCount(DOC, 'Channels[0]', '%')).toBe(0);
  });

  it('returns 0 for a missing path, a malformed path or an invalid document', () => {
    expect(jsonCount(DOC, 'Missing', '%')).toBe(0);
    expect(jsonCount(DOC, '.Channels', '%')).toBe(0);
    expect(jsonCount('not json', 'a', '%')).toBe(0);
  });

  it('throws a TypeError for arguments that are not strings', () => {
    const untyped = jsonCount as unknown as (...args: unknown[]) => unknown;
    expect(thrown(() => untyped(DOC, 7, '%')).name).toBe('TypeError');
  });
});

describe('reserialize()', () => {
  it('writes the spaced format and escapes slashes and control characters (docs/module-behaviour.md#json-rules)', () => {
    expect(reserialize('{"Url":"http://x/y","a":"x\\u0001y"}')).toBe('{ "Url": "http:\\/\\/x\\/y", "a": "x\\u0001y" }');
  });

  it('uses the short escapes and lowercase \\u00xx, and leaves DEL raw', () => {
    expect(reserialize('{"c":"\\"\\\\\\b\\f\\n\\r\\t\\u001f\\u007f"}')).toBe('{ "c": "\\"\\\\\\b\\f\\n\\r\\t\\u001f\u007f" }');
  });

  it('accepts single-quoted strings and keys', () => {
    expect(reserialize("{'Event-Category' : 'call_event'}")).toBe('{ "Event-Category": "call_event" }');
  });

  it('accepts block and line comments', () => {
    expect(reserialize('{"a":1, /* block */ "b":2 // line\n}')).toBe('{ "a": 1, "b": 2 }');
  });

  it('accepts trailing commas in arrays and objects', () => {
    expect(reserialize('{"a":[1,2,],"b":{"c":1,},}')).toBe('{ "a": [ 1, 2 ], "b": { "c": 1 } }');
  });

  it('keeps a duplicate key at its first position with the last value', () => {
    expect(reserialize('{"a":1,"b":2,"a":3}')).toBe('{ "a": 3, "b": 2 }');
  });

  it('keeps the original text of doubles', () => {
    expect(reserialize('{"d":12.50,"e":1e3,"f":-0.0,"g":1E+03}')).toBe('{ "d": 12.50, "e": 1e3, "f": -0.0, "g": 1E+03 }');
  });

  it('drops leading zeros of integers', () => {
    expect(reserialize('{"z":007}')).toBe('{ "z": 7 }');
  });

  it('accepts NaN and Infinity in any case and writes them canonically', () => {
    expect(reserialize('{"n":NaN,"i":Infinity,"m":-Infinity,"l":nan}')).toBe(
      '{ "n": NaN, "i": Infinity, "m": -Infinity, "l": NaN }',
    );
  });

  it('accepts true, false and null in any letter case', () => {
    expect(reserialize('{"t":TRUE,"f":False,"n":NULL}')).toBe('{ "t": true, "f": false, "n": null }');
  });

  it('ignores trailing garbage after the first complete value', () => {
    expect(reserialize('{"a":1} xyz')).toBe('{ "a": 1 }');
    expect(reserialize('{"a":1}{"b":2}')).toBe('{ "a": 1 }');
  });

  it('writes non-ASCII text raw', () => {
    expect(reserialize('{"r":"héllo € 😀"}')).toBe('{ "r": "héllo € 😀" }');
  });

  it('decodes \\u escapes to UTF-8, including surrogate pairs', () => {
    expect(reserialize('{"u":"\\u00e9\\ud83d\\ude00"}')).toBe('{ "u": "é😀" }');
  });

  it('saturates integers beyond 64 bits', () => {
    expect(reserialize('{"big":18446744073709551616,"neg":-9223372036854775809}')).toBe(
      '{ "big": 18446744073709551615, "neg": -9223372036854775808 }',
    );
  });

  it('serializes a non-object document too', () => {
    expect(reserialize('[1,{}]')).toBe('[ 1, { } ]');
  });

  describe('on invalid JSON', () => {
    const failure = (payload: string): Thrown => thrown(() => reserialize(payload));

    it('throws INVALID_JSON with the reason and offset', () => {
      const err = failure('{"a":');
      expect(err.name).toBe('Error');
      expect(err.code).toBe('INVALID_JSON');
      expect(err.position).toBe(5);
      expect(err.message).toBe('kazoo: payload is not valid JSON (unexpected end of data at offset 5)');
    });

    it('rejects unquoted keys', () => {
      const err = failure('{a:1}');
      expect(err.code).toBe('INVALID_JSON');
      expect(err.message).toBe('kazoo: payload is not valid JSON (quoted object property name expected at offset 1)');
    });

    it('rejects an empty payload and a bare null', () => {
      expect(failure('').code).toBe('INVALID_JSON');
      expect(failure('null').code).toBe('INVALID_JSON');
    });

    it('rejects an embedded NUL instead of truncating there', () => {
      const err = failure('{"a":1\u0000}');
      expect(err.code).toBe('INVALID_JSON');
      expect(err.position).toBe(6);
    });

    it('rejects nesting deeper than json-c allows (32)', () => {
      expect(reserialize('['.repeat(32) + ']'.repeat(32))).toBe('[ '.repeat(32).trimEnd() + ' ]'.repeat(32));
      expect(failure('['.repeat(33) + ']'.repeat(33)).code).toBe('INVALID_JSON');
    });

    it('reports the offset in UTF-16 units of the JS string', () => {
      const err = failure('{"é😀":');
      expect(err.position).toBe('{"é😀":'.length);
    });
  });

  it('throws a TypeError for a payload that is not a string', () => {
    const untyped = reserialize as unknown as (...args: unknown[]) => unknown;
    expect(thrown(() => untyped({})).name).toBe('TypeError');
  });
});
