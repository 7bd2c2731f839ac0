/**
 * KEMI pseudo-variables and transformations (lib/kemi/pv.ts): $kzE/$kzR/$kzRK, $var/$avp/$shv,
 * {kz.encode}, {kz.json,…} and {kz.json.count,…} with the module's rules (docs/module-behaviour.md#json-paths), the s.* set.
 */
import { KazooError } from '../../lib/errors';
import { parsePv, PvAccess, PvContext, type PvValue } from '../../lib/kemi';

const pv = new PvAccess({ escapeChar: '%', encodeCompat: 'kazoo' });
const EVENT = '{ "Event-Category": "presence", "Event-Name": "update", "From": "sip:1000@a.b", "Keys": { "k.1": "v", "n": null }, "List": [ 1, 2, 3 ], "Price": 12.50 }';

function ctx(): PvContext {
  const c = new PvContext(new Map<string, PvValue>());
  c.kzE = EVENT;
  c.kzRK = 'presence.update.a%2Eb';
  return c;
}

describe('PvAccess.get()', () => {
  it('reads $kzE, $kzRK and a null $kzR', () => {
    const c = ctx();
    expect(pv.get(c, '$kzE')).toBe(EVENT);
    expect(pv.get(c, '$kzRK')).toBe('presence.update.a%2Eb');
    expect(pv.get(c, '$kzR')).toBeNull();
  });

  it('applies {kz.json,…}: raw strings, original number text, "" for missing/null, escaped dots, a $-path', () => {
    const c = ctx();
    expect(pv.get(c, '$(kzE{kz.json,From})')).toBe('sip:1000@a.b');
    expect(pv.get(c, '$(kzE{kz.json,Price})')).toBe('12.50');
    expect(pv.get(c, '$(kzE{kz.json,List[1]})')).toBe('2');
    expect(pv.get(c, '$(kzE{kz.json,Keys.k%1})')).toBe('v');
    expect(pv.get(c, '$(kzE{kz.json,Keys.n})')).toBe('');
    expect(pv.get(c, '$(kzE{kz.json,Missing})')).toBe('');
    expect(pv.get(c, '$(kzE{kz.json,Keys})')).toBe('{ "k.1": "v", "n": null }');
    pv.set(c, '$var(path)', 'Event-Name');
    expect(pv.get(c, '$(kzE{kz.json,$var(path)})')).toBe('update');
    pv.set(c, '$var(key)', 'k%1');
    expect(pv.get(c, '$(kzE{kz.json,Keys.$var(key)})')).toBe('v');
    expect(pv.get(c, '$(var(nothing){kz.json,a})')).toBeNull();
  });

  it('applies {kz.json.count,…}: the array length, 0 when missing or not an array', () => {
    const c = ctx();
    expect(pv.get(c, '$(kzE{kz.json.count,List})')).toBe(3);
    expect(pv.get(c, '$(kzE{kz.json.count,From})')).toBe(0);
    expect(pv.get(c, '$(kzE{kz.json.count,Nope})')).toBe(0);
  });

  it('applies {kz.encode} and chains transformations', () => {
    const c = ctx();
    expect(pv.get(c, '$(kzE{kz.json,From}{kz.encode})')).toBe('sip%3A1000%40a%2Eb');
    expect(pv.get(c, '$(kzE{kz.json,Event-Name}{s.toupper}{s.len})')).toBe(6);
    expect(pv.get(c, '$(kzRK{s.encode.base64}{s.decode.base64})')).toBe('presence.update.a%2Eb');
    pv.set(c, '$var(n)', ' 42abc');
    expect(pv.get(c, '$(var(n){s.int})')).toBe(42);
    expect(pv.get(c, '$(kzE{kz.json,Event-Category}{S.ToUpper})')).toBe('PRESENCE');
  });

  it('throws INVALID_ARGUMENT naming an unknown transformation or pseudo-variable', () => {
    const c = ctx();
    expect(() => pv.get(c, '$(kzE{kz.nope,a})')).toThrow(/unknown transformation \{kz\.nope\}/);
    expect(() => pv.get(c, '$(kzE{kz.json})')).toThrow(/needs a path/);
    const error = (() => {
      try {
        pv.get(c, '$ru');
      } catch (e) {
        return e as KazooError;
      }
    })();
    expect(error).toBeInstanceOf(KazooError);
    expect(error?.code).toBe('INVALID_ARGUMENT');
    expect(error?.message).toMatch(/"\$ru"/);
  });
});

describe('PvAccess.set()/unset()', () => {
  it('keeps $var per context, $shv shared, $avp as a stack', () => {
    const shared = new Map<string, PvValue>();
    const a = new PvContext(shared);
    const b = new PvContext(shared);
    pv.set(a, '$var(x)', 'a');
    pv.set(a, '$shv(s)', 5);
    expect(pv.get(b, '$var(x)')).toBeNull();
    expect(pv.get(b, '$shv(s)')).toBe(5);
    pv.set(a, '$avp(k)', 'first');
    pv.set(a, '$avp(k)', 'second');
    expect(pv.get(a, '$avp(k)')).toBe('second');
    expect(pv.get(a, '$(avp(k)[1])')).toBe('first');
    expect(pv.get(a, '$cnt($avp(k))')).toBe(2);
    pv.unset(a, '$avp(k)');
    expect(pv.get(a, '$avp(k)')).toBeNull();
    expect(a.fork().vars.get('x')).toBe('a');
  });

  it('refuses read-only pseudo-variables', () => {
    expect(() => pv.set(ctx(), '$kzE', 'x')).toThrow(/writable pseudo-variable/);
    expect(() => pv.set(ctx(), '$(var(x){s.len})', 'x')).toThrow(/writable/);
  });

  it('expands PVs inside strings (spve)', () => {
    const c = ctx();
    pv.set(c, '$var(u)', '1000');
    expect(pv.expand(c, 'user $var(u) on $(kzE{kz.json,Event-Name}) via $kzRK')).toBe('user 1000 on update via presence.update.a%2Eb');
  });
});

describe('parsePv()', () => {
  it('parses names, indexes and transformations once', () => {
    expect(parsePv('$(avp(x)[2]{s.len})')).toMatchObject({ cls: 'avp', name: 'x', index: 2, transformations: [{ name: 's.len', param: '' }] });
    expect(parsePv('$(avp(x)[2]{s.len})')).toBe(parsePv('$(avp(x)[2]{s.len})'));
  });
});
