import { encode } from '../../lib/encode';
import { KazooError } from '../../lib/errors';

/** Independent reference: docs/module-behaviour.md#routing-key-encoding applied byte by byte to Buffer's UTF-8 bytes. */
function referenceEncode(input: string, x86: boolean): string {
  if (input === '#' || input === '*') return input;
  let out = '';
  for (const byte of Buffer.from(input, 'utf8')) {
    const ch = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-~_]/.test(ch)) out += ch;
    else if (byte === 0x2e) out += '%2E';
    else if (byte === 0x20) out += '+';
    else {
      const high = x86 && byte >= 0x80 ? String.fromCharCode(0x20 + (byte >> 4)) : (byte >> 4).toString(16).toUpperCase();
      out += `%${high}${(byte & 15).toString(16).toUpperCase()}`;
    }
  }
  return out;
}

describe('encode()', () => {
  describe('worked examples (docs/module-behaviour.md#routing-key-encoding)', () => {
    // Rows 1–12, 15, 16: identical in both compat modes (ASCII only).
    const asciiRows: Array<[number, string, string]> = [
      [1, 'sip:alice@example.com', 'sip%3Aalice%40example%2Ecom'],
      [2, 'example.com', 'example%2Ecom'],
      [3, 'John Doe', 'John+Doe'],
      [4, '#', '#'],
      [5, '*', '*'],
      [6, 'a#b', 'a%23b'],
      [7, '*.*', '%2A%2E%2A'],
      [8, 'user_name-1~x', 'user_name-1~x'],
      [9, 'a/b=c&d', 'a%2Fb%3Dc%26d'],
      [10, 'a84b4c76e66710@pc33.atlanta.com', 'a84b4c76e66710%40pc33%2Eatlanta%2Ecom'],
      [11, '%+', '%25%2B'],
      [12, 'a\tb\n', 'a%09b%0A'],
      [15, 'Call-ID 123', 'Call-ID+123'],
      [16, '', ''],
    ];
    it.each(asciiRows)('row %i: encodes %j as %j', (_row, input, expected) => {
      expect(encode(input)).toBe(expected);
      expect(encode(input, { compat: 'kazoo' })).toBe(expected);
      expect(encode(input, { compat: 'kamailio-x86' })).toBe(expected);
    });

    it('row 13: encodes é as proper hex by default (kazoo)', () => {
      expect(encode('é')).toBe('%C3%A9');
      expect(encode('é', { compat: 'kazoo' })).toBe('%C3%A9');
    });

    it('row 13: reproduces the x86 signed-char quirk for é with compat kamailio-x86', () => {
      expect(encode('é', { compat: 'kamailio-x86' })).toBe('%,3%*9');
    });

    it('row 14: encodes ü€ as proper hex by default (kazoo)', () => {
      expect(encode('ü€')).toBe('%C3%BC%E2%82%AC');
    });

    it('row 14: reproduces the x86 signed-char quirk for ü€ with compat kamailio-x86', () => {
      expect(encode('ü€', { compat: 'kamailio-x86' })).toBe('%,3%+C%.2%(2%*C');
    });

    it('row 17 (deviation): encodes all 100 dots instead of truncating at 255 characters', () => {
      const out = encode('.'.repeat(100));
      expect(out).toBe('%2E'.repeat(100));
      expect(out).toHaveLength(300);
    });

    it('row 18 (deviation): keeps the trailing "b" instead of stopping at 257 characters', () => {
      const out = encode(`${'a'.repeat(254)}.b`);
      expect(out).toBe(`${'a'.repeat(254)}%2Eb`);
      expect(out).toHaveLength(258);
    });
  });

  it('keeps a lone # unchanged', () => {
    expect(encode('#')).toBe('#');
  });

  it('keeps a lone * unchanged', () => {
    expect(encode('*')).toBe('*');
  });

  it('encodes # and * when they are not the whole input', () => {
    expect(encode('##')).toBe('%23%23');
    expect(encode('* ')).toBe('%2A+');
  });

  it('returns an all-safe input unchanged', () => {
    const input = 'abcXYZ019-~_';
    expect(encode(input)).toBe(input);
  });

  it('encodes every ASCII byte as the spec rule says', () => {
    for (let c = 0; c < 128; c++) {
      const ch = String.fromCharCode(c);
      if (ch === '#' || ch === '*') continue;
      expect(encode(ch)).toBe(referenceEncode(ch, false));
    }
  });

  it('encodes 4-byte UTF-8 characters (surrogate pairs) byte by byte', () => {
    expect(encode('😀')).toBe('%F0%9F%98%80');
    expect(encode('😀', { compat: 'kamailio-x86' })).toBe('%/0%)F%)8%(0');
  });

  it('encodes a lone surrogate as U+FFFD, like Node’s UTF-8 conversion', () => {
    expect(encode('a\ud800b')).toBe('a%EF%BF%BDb');
    expect(encode('\udc00')).toBe('%EF%BF%BD');
  });

  it('matches an independent byte-wise implementation on mixed inputs', () => {
    const samples = [
      'registration.success.example.com.1000',
      'Ünïcödé straße 東京 😀 done',
      'a.b c/d?e=f&g#h*i',
      '\u0000\u007f\u0080\u00ff\u07ff\u0800\uffff',
      'x'.repeat(300) + 'é',
    ];
    for (const s of samples) {
      expect(encode(s)).toBe(referenceEncode(s, false));
      expect(encode(s, { compat: 'kamailio-x86' })).toBe(referenceEncode(s, true));
    }
  });

  it('throws INVALID_ARGUMENT for a non-string input', () => {
    for (const bad of [undefined, null, 42, {}, ['a']]) {
      expect(() => encode(bad as unknown as string)).toThrow(KazooError);
      try {
        encode(bad as unknown as string);
      } catch (e) {
        expect((e as KazooError).code).toBe('INVALID_ARGUMENT');
        expect((e as KazooError).details.param).toBe('input');
        expect((e as KazooError).message).toMatch(/^kazoo: input must be a string, got /);
      }
    }
  });

  it('throws INVALID_ARGUMENT for an unknown compat mode', () => {
    expect(() => encode('a', { compat: 'arm' as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', details: { param: 'options.compat' } }),
    );
  });
});
