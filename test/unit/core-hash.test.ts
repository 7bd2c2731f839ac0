import { consistentWorker, coreHash } from '../../lib/core-hash';
import { KazooError } from '../../lib/errors';

/**
 * Independent implementation of docs/module-behaviour.md#worker-selection with BigInt arithmetic reduced mod 2^32 at each step,
 * over Buffer's UTF-8 bytes (no shared code with lib/core-hash.ts).
 */
function referenceCoreHash(key: string): number {
  const M = 1n << 32n;
  const bytes = [...Buffer.from(key, 'utf8')].map(BigInt);
  let h = 0n;
  let p = 0;
  for (; p + 4 <= bytes.length; p += 4) {
    const v = bytes[p] * 2n ** 24n + bytes[p + 1] * 2n ** 16n + bytes[p + 2] * 2n ** 8n + bytes[p + 3];
    h = (h + (v ^ (v >> 3n))) % M;
  }
  let v = 0n;
  for (; p < bytes.length; p++) v = v * 256n + bytes[p];
  h = (h + (v ^ (v >> 3n))) % M;
  return Number((h + (h >> 11n) + ((h >> 13n) + (h >> 23n))) % M);
}

describe('coreHash()', () => {
  it('hashes the empty string to 0 (the empty tail adds 0 ^ 0)', () => {
    expect(coreHash('')).toBe(0);
  });

  it('hashes "a" to 109 (worked by hand)', () => {
    // Tail only: v = 0x61 = 97; v >> 3 = 12; 97 ^ 12 = 0b1100001 ^ 0b0001100 = 0b1101101 = 109.
    // Finish: 109 + (109 >> 11) + (109 >> 13) + (109 >> 23) = 109 + 0 + 0 + 0.
    expect(coreHash('a')).toBe(109);
  });

  it('hashes "abcd" to 1834959896 (worked by hand)', () => {
    // Block: v = 0x61626364 = 1633837924; v >> 3 = 0x0C2C4C6C; v ^ (v >> 3) = 0x6D4E2F08 = 1833840392.
    // Empty tail adds 0. Finish: 1833840392 + 895429 (>> 11) + 223857 (>> 13) + 218 (>> 23) = 1834959896.
    expect(coreHash('abcd')).toBe(1834959896);
  });

  it('hashes "abcde" to 1834960001 (worked by hand)', () => {
    // Block as for "abcd": 1833840392. Tail v = 0x65 = 101; 101 ^ 12 = 105; h = 1833840497.
    // Finish: 1833840497 + 895429 + 223857 + 218 = 1834960001.
    expect(coreHash('abcde')).toBe(1834960001);
  });

  it('hashes the UTF-8 bytes, taken as unsigned ("é" = C3 A9 → 56317, worked by hand)', () => {
    // Tail v = 0xC3A9 = 50089; v >> 3 = 6261; 50089 ^ 6261 = 0xDBDC = 56284.
    // Finish: 56284 + 27 (>> 11) + 6 (>> 13) + 0 (>> 23) = 56317.
    expect(coreHash('é')).toBe(56317);
  });

  it('stays an unsigned 32-bit integer when the sum wraps', () => {
    const key = '\u007f'.repeat(64) + 'zzzz'.repeat(64);
    const h = coreHash(key);
    expect(Number.isInteger(h)).toBe(true);
    expect(h).toBeGreaterThanOrEqual(0);
    expect(h).toBeLessThan(2 ** 32);
    expect(h).toBe(referenceCoreHash(key));
  });

  it('matches an independent BigInt implementation for every length 0..12 and mixed scripts', () => {
    const alphabet = 'aZ0.-_ é€😀';
    const keys: string[] = [];
    for (let len = 0; len <= 12; len++) keys.push('kamailio@sip1.example.com'.slice(0, len));
    for (let i = 0; i < 200; i++) {
      let s = '';
      for (let j = 0; j < (i % 23); j++) s += [...alphabet][(i * 7 + j * 13) % [...alphabet].length];
      keys.push(s);
    }
    keys.push('call-id-1@example.com', 'kamailio', 'registration.success.example%2Ecom.1000');
    for (const key of keys) expect(coreHash(key)).toBe(referenceCoreHash(key));
  });

  it('throws INVALID_ARGUMENT for a non-string key', () => {
    expect(() => coreHash(5 as unknown as string)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', details: { param: 'key' } }),
    );
  });
});

describe('consistentWorker()', () => {
  it('masks the hash with workers − 1', () => {
    expect(consistentWorker('a', 8)).toBe(109 & 7);
    expect(consistentWorker('abcde', 8)).toBe(1834960001 & 7);
    expect(consistentWorker('abcd', 1024)).toBe(1834959896 & 1023);
  });

  it('always picks worker 0 when there is one worker', () => {
    for (const key of ['', 'a', 'abcd', 'é']) expect(consistentWorker(key, 1)).toBe(0);
  });

  it('returns the same worker for the same key', () => {
    expect(consistentWorker('user-1000@example.com', 16)).toBe(consistentWorker('user-1000@example.com', 16));
  });

  it('spreads keys over all workers of a power-of-two pool', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) seen.add(consistentWorker(`call-${i}@example.com`, 8));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('throws INVALID_ARGUMENT when workers is not a power of two', () => {
    for (const workers of [0, 3, 10, -8, 1.5, NaN]) {
      expect(() => consistentWorker('a', workers)).toThrow(KazooError);
      expect(() => consistentWorker('a', workers)).toThrow(/^kazoo: workers must be a power of two/);
    }
  });
});
