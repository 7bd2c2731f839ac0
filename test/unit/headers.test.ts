import { KazooError } from '../../lib/errors';
import { parseHeaders } from '../../lib/headers';
import { errorOf } from '../support/errors';

describe('parseHeaders()', () => {
  describe('string form (module syntax, docs/module-behaviour.md#amqp-headers)', () => {
    it('splits key=value pairs on ; in order', () => {
      expect(parseHeaders('X-Peer=10.0.0.1;X-Type=reg')).toEqual(['X-Peer', '10.0.0.1', 'X-Type', 'reg']);
    });

    it('skips empty pairs', () => {
      expect(parseHeaders(';;a=1;;b=2;')).toEqual(['a', '1', 'b', '2']);
    });

    it('cuts a value at its next = (a=b=c gives a → b)', () => {
      expect(parseHeaders('a=b=c')).toEqual(['a', 'b']);
    });

    it('treats runs of = as one separator, like strtok', () => {
      expect(parseHeaders('a==b')).toEqual(['a', 'b']);
      expect(parseHeaders('=a=b')).toEqual(['a', 'b']);
    });

    it('keeps surrounding whitespace', () => {
      expect(parseHeaders(' a = b ; c=d')).toEqual([' a ', ' b ', ' c', 'd']);
    });

    it('keeps repeated keys, in order', () => {
      expect(parseHeaders('a=1;a=2')).toEqual(['a', '1', 'a', '2']);
    });

    it('returns null for an empty string or only separators', () => {
      expect(parseHeaders('')).toBeNull();
      expect(parseHeaders(';;;')).toBeNull();
    });

    it('throws INVALID_ARGUMENT for a pair without a value (deviation: the module skips it)', () => {
      for (const input of ['a', 'a=', 'x=1;b', '=', '==', 'a=1; ']) {
        const error = errorOf(() => parseHeaders(input));
        expect(error).toBeInstanceOf(KazooError);
        expect(error.code).toBe('INVALID_ARGUMENT');
        expect(error.details.param).toBe('headers');
        expect(error.message).toMatch(/^kazoo: headers must be "key=value" pairs separated by ";" \(pair .* has no value\), got /);
      }
    });

    it('throws INVALID_ARGUMENT for a key longer than 255 bytes', () => {
      expect(parseHeaders(`${'k'.repeat(255)}=v`)).toEqual(['k'.repeat(255), 'v']);
      expect(() => parseHeaders(`${'k'.repeat(256)}=v`)).toThrow(/at most 255 UTF-8 bytes/);
      expect(() => parseHeaders(`${'é'.repeat(128)}=v`)).toThrow(/at most 255 UTF-8 bytes/);
    });
  });

  describe('record form', () => {
    it('flattens own keys in insertion order', () => {
      expect(parseHeaders({ 'X-Peer': '10.0.0.1', 'X-Type': 'reg' })).toEqual(['X-Peer', '10.0.0.1', 'X-Type', 'reg']);
    });

    it('keeps values with = and ; verbatim', () => {
      expect(parseHeaders({ a: 'b=c;d' })).toEqual(['a', 'b=c;d']);
    });

    it('accepts empty string values', () => {
      expect(parseHeaders({ a: '' })).toEqual(['a', '']);
    });

    it('accepts a null-prototype object', () => {
      const record = Object.create(null) as Record<string, string>;
      record.k = 'v';
      expect(parseHeaders(record)).toEqual(['k', 'v']);
    });

    it('returns null for an empty record', () => {
      expect(parseHeaders({})).toBeNull();
    });

    it('throws INVALID_ARGUMENT for a non-string value', () => {
      const error = errorOf(() => parseHeaders({ a: 1 } as unknown as Record<string, string>));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.details.param).toBe('headers');
      expect(error.message).toContain('header "a" is 1');
    });

    it('throws INVALID_ARGUMENT for an empty key', () => {
      expect(() => parseHeaders({ '': 'v' })).toThrow(/non-empty names/);
    });

    it('throws INVALID_ARGUMENT for a key longer than 255 bytes', () => {
      expect(() => parseHeaders({ ['k'.repeat(256)]: 'v' })).toThrow(/at most 255 UTF-8 bytes/);
    });
  });

  it('returns null for undefined and null', () => {
    expect(parseHeaders(undefined)).toBeNull();
    expect(parseHeaders(null)).toBeNull();
  });

  it('throws INVALID_ARGUMENT for anything else', () => {
    for (const bad of [42, true, ['a', 'b'], new Map([['a', 'b']]), new Date(0)]) {
      const error = errorOf(() => parseHeaders(bad as never));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.details).toEqual({ param: 'headers' });
      expect(error.message).toMatch(/^kazoo: headers must be a string of "key=value" pairs/);
    }
  });
});
