/**
 * The single-pass fast route (native/core/fast_json.cc) against the json-c reference route, byte
 * for byte: publish bodies (injected fields) and delivered payloads ($kzE rewrite), on generated
 * documents. Where the fast route declines, the reference must be what Auto produces.
 */
import { testing } from '../../lib/native';
import { rng } from '../support/random';

const PIECES = ['a', 'Z', ' ', '/', '\\\\', '\\"', '\\/', '\\n', '\\t', '\\b', '\\f', '\\r', '\\u0041', '\\u00e9', 'é', '€', '😀', "'", '<&>', 'http://x/y', '\x01', '\x7f'];
const NUMBERS = ['0', '-0', '-1', '7', '007', '12.50', '1e3', '-0.0', '1E+03', '1e400', '123456789012345678', '1234567890123456789', '9223372036854775807', '18446744073709551615', '3.14', '.5', '1.', '+1', 'NaN', '-Infinity'];
const LITERALS = ['true', 'false', 'null', 'TRUE', 'Null', 'nul'];
const KEYS = ['Event-Category', 'Event-Name', 'Msg-ID', 'Server-ID', 'App-Name', 'App-Version', 'Node', 'Call-ID', 'AMQP-Broker-Zone', 'AMQP-Received', 'Realm', 'k', 'k', 'a/b', 'x\\"y', 'é'];
const WS = ['', '', ' ', '\n', '\t', ' \r\n '];

function gen(next: () => number) {
  const pick = <T,>(list: T[]) => list[Math.floor(next() * list.length)];
  const str = () => `"${Array.from({ length: Math.floor(next() * 5) }, () => pick(PIECES)).join('')}"`;
  const value = (depth: number): string => {
    const r = next();
    if (depth < 5 && r < 0.12) return `{${members(depth + 1, Math.floor(next() * 4))}}`;
    if (depth < 5 && r < 0.24) return `[${Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1)).join(pick([',', ' , ', ',\n']))}${next() < 0.05 ? ',' : ''}]`;
    if (r < 0.6) return next() < 0.03 ? `'single'` : str();
    if (r < 0.85) return pick(NUMBERS);
    return pick(LITERALS);
  };
  const members = (depth: number, n: number) =>
    Array.from({ length: n }, () => `${pick(WS)}"${pick(KEYS)}"${pick(WS)}:${pick(WS)}${value(depth)}`).join(',') +
    (next() < 0.03 ? ',' : '');
  return () => `${pick(WS)}{${members(0, Math.floor(next() * 7))}}${pick(WS)}${next() < 0.03 ? ' trailing' : ''}`;
}

describe('fast JSON route', () => {
  const next = rng(42);
  const doc = gen(next);
  const docs = Array.from({ length: 20000 }, doc);
  docs.push(
    '{"Event-Category":"directory","Event-Name":"reg_success","Realm":"example.com","Username":"1000"}',
    '{}',
    '{"Server-ID":""}',
    '{"Server-ID":"ecallmgr@fs1-<0.123.0>","Msg-ID":"m1"}',
    '{"Msg-ID":5}',
  );

  it('builds publish bodies identical to json-c, or declines', () => {
    let fast = 0;
    for (const [i, d] of docs.entries()) {
      const f = testing.publishBody(d, 'fast', '', 'kamailio@test.local-<1>-targeted-3');
      const r = testing.publishBody(d, 'reference', '', 'kamailio@test.local-<1>-targeted-3');
      const a = testing.publishBody(d, 'auto', '', 'kamailio@test.local-<1>-targeted-3');
      if (f.declined) {
        expect(a).toEqual(r);
        continue;
      }
      fast++;
      if (f.body !== r.body || f.msgId !== r.msgId) {
        throw new Error(`publish ${i} differs:\n${d}\nfast: ${f.body} (${f.msgId})\njson-c: ${r.body} (${r.msgId})`);
      }
      expect(a).toEqual(f);
    }
    // The generator is mostly plain JSON: the fast route must take the bulk of it.
    expect(fast).toBeGreaterThan(docs.length * 0.2);
  });

  it('rewrites deliveries ($kzE) identically to json-c, or declines', () => {
    let fast = 0;
    for (const [i, d] of docs.entries()) {
      for (const [key, subkey, worker] of [
        ['Event-Category', 'Event-Name', ''],
        ['Realm', 'k', 'Call-ID'],
      ]) {
        const f = testing.deliveryView(d, 'fast', key, subkey, worker);
        const r = testing.deliveryView(d, 'reference', key, subkey, worker);
        if (f.declined) continue;
        fast++;
        const { declined: _f, ...fv } = f;
        const { declined: _r, ...rv } = r;
        if (JSON.stringify(fv) !== JSON.stringify(rv)) {
          throw new Error(`delivery ${i} differs:\n${d}\nfast: ${JSON.stringify(fv)}\njson-c: ${JSON.stringify(rv)}`);
        }
      }
    }
    expect(fast).toBeGreaterThan(docs.length * 0.2);
  });

  it('takes the common Kazoo payload', () => {
    const d = '{"Event-Category":"directory","Event-Name":"reg_success","Realm":"example.com","Username":"1000"}';
    expect(testing.publishBody(d, 'fast', '', 'sid').declined).toBeFalsy();
    expect(testing.deliveryView(d, 'fast', 'Event-Category', 'Event-Name', '').declined).toBe(false);
  });
});
