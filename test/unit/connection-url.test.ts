import { inspect } from 'node:util';
import { parseAmqpConnection, redactUrl, redactValue } from '../../lib/connection-url';
import { KazooError } from '../../lib/errors';
import { errorOf } from '../support/errors';

const parse = (entry: string, serverId = 1, primaryZone = 'local') => parseAmqpConnection(entry, serverId, primaryZone);

describe('parseAmqpConnection()', () => {
  describe('URL components (rabbitmq-c rules, docs/module-behaviour.md#broker-urls)', () => {
    it('applies the defaults guest/guest/localhost/5672 and vhost / to a bare amqp://', () => {
      expect(parse('amqp://')).toEqual({
        serverId: 1,
        zone: 'local',
        primary: true,
        url: 'amqp://guest:***@localhost:5672/%2F',
        host: 'localhost',
        port: 5672,
        vhost: '/',
        user: 'guest',
        password: 'guest',
        tls: false,
      });
    });

    it('reads user, password, host, port and vhost', () => {
      expect(parse('amqp://kazoo:s3cret@rabbit1.example.com:5673/kazoo')).toMatchObject({
        user: 'kazoo',
        password: 's3cret',
        host: 'rabbit1.example.com',
        port: 5673,
        vhost: 'kazoo',
        url: 'amqp://kazoo:***@rabbit1.example.com:5673/kazoo',
      });
    });

    it('takes a user without a password and keeps the default password', () => {
      expect(parse('amqp://bob@h')).toMatchObject({ user: 'bob', password: 'guest', host: 'h' });
    });

    it('defaults the host to localhost when only a port is given', () => {
      expect(parse('amqp://:5673')).toMatchObject({ host: 'localhost', port: 5673 });
    });

    it('uses port 5671 and tls for amqps://', () => {
      expect(parse('amqps://h')).toMatchObject({ tls: true, port: 5671, url: 'amqps://guest:***@h:5671/%2F' });
      expect(parse('amqps://h:5999')).toMatchObject({ tls: true, port: 5999 });
    });

    it('rewrites kazoo:// to amqp://', () => {
      expect(parse('kazoo://u:p@h:5680/v')).toMatchObject({ tls: false, user: 'u', password: 'p', host: 'h', port: 5680, vhost: 'v' });
    });

    it('maps no path to vhost "/", path "/" to "" and "/%2F" to "/"', () => {
      expect(parse('amqp://h').vhost).toBe('/');
      expect(parse('amqp://h/').vhost).toBe('');
      expect(parse('amqp://h/%2F').vhost).toBe('/');
      expect(parse('amqp://h/%2f').vhost).toBe('/');
      expect(parse('amqp://h/').url).toBe('amqp://guest:***@h:5672/');
    });

    it('percent-decodes every component', () => {
      expect(parse('amqp://us%40er:p%3A%2Fss@h%2Dx:5672/v%2Fh')).toMatchObject({
        user: 'us@er',
        password: 'p:/ss',
        host: 'h-x',
        vhost: 'v/h',
      });
      expect(parse('amqp://h:%35%36%37%32').port).toBe(5672);
    });

    it('percent-encodes delimiters back in the redacted url', () => {
      expect(parse('amqp://us%40er:x@h/v%2Fh%3A').url).toBe('amqp://us%40er:***@h:5672/v%2Fh%3A');
    });

    it('accepts %01..%7F and rejects %00 and anything above %7F', () => {
      expect(parse('amqp://u%7F@h').user).toBe('u\u007f');
      for (const url of ['amqp://u%80@h', 'amqp://u:p%C3%A9@h', 'amqp://h/%FF', 'amqp://u%00@h']) {
        expect(() => parse(url)).toThrow(/percent-encodings must be %01\.\.%7F/);
      }
    });

    it('rejects truncated or non-hex percent-encodings', () => {
      for (const url of ['amqp://h/%', 'amqp://h/%4', 'amqp://h/%zz', 'amqp://u%+1@h']) {
        expect(() => parse(url)).toThrow(KazooError);
      }
    });

    it('reads bracketed IPv6 hosts', () => {
      expect(parse('amqp://[::1]')).toMatchObject({ host: '::1', port: 5672, url: 'amqp://guest:***@[::1]:5672/%2F' });
      expect(parse('amqp://u:p@[fe80::1%25eth0]:5673/v')).toMatchObject({
        host: 'fe80::1%eth0',
        port: 5673,
        user: 'u',
        vhost: 'v',
      });
    });

    it('keeps raw non-ASCII characters, which rabbitmq-c passes through', () => {
      expect(parse('amqp://h/vhöst').vhost).toBe('vhöst');
    });
  });

  describe('rejections', () => {
    const rejected: Array<[string, string, RegExp]> = [
      ['an unknown scheme', 'http://h', /scheme must be amqp:\/\/, amqps:\/\/ or kazoo:\/\//],
      ['an upper-case scheme', 'AMQP://h', /scheme/],
      ['a missing //', 'amqp:h', /scheme/],
      ['a query', 'amqp://h?heartbeat=10', /unexpected "\?"/],
      ['a fragment', 'amqp://h#x', /unexpected "#"/],
      ['a query after the vhost', 'amqp://h/v?x=1', /vhost contains a raw "\?"/],
      ['a / inside the vhost', 'amqp://h/a/b', /vhost contains a raw "\/"/],
      ['a : inside the vhost', 'amqp://h/a:b', /vhost contains a raw ":"/],
      ['an @ inside the vhost', 'amqp://h/a@b', /vhost contains a raw "@"/],
      ['a non-numeric port', 'amqp://h:abc', /port must be an integer 1\.\.65535/],
      ['an empty port', 'amqp://h:', /port must be/],
      ['port 0', 'amqp://h:0', /port must be/],
      ['port 65536', 'amqp://h:65536', /port must be/],
      ['a signed port', 'amqp://h:+5672', /port must be/],
      ['a port with spaces', 'amqp://h: 5672', /port must be/],
      ['two ports', 'amqp://h:1:2', /two ":port" parts/],
      ['an empty host after @', 'amqp://u:p@', /host after "@" is empty/],
      ['an empty host after @ with a port', 'amqp://u:p@:5672/v', /host after "@" is empty/],
      ['a second @', 'amqp://u@h@x', /unexpected "@"/],
      ['an unclosed IPv6 bracket', 'amqp://[::1', /closing "\]"/],
      ['text before an IPv6 bracket', 'amqp://h[::1]', /"\[" may only start the host/],
      ['text after an IPv6 bracket', 'amqp://[::1]x', /"\]" must end the host/],
      ['an empty IPv6 host', 'amqp://[]', /IPv6 host is empty/],
      ['a stray ]', 'amqp://h]', /unexpected "\]"/],
    ];
    it.each(rejected)('rejects %s (%s)', (_what, url, message) => {
      const error = errorOf(() => parse(url));
      expect(error).toBeInstanceOf(KazooError);
      expect(error.code).toBe('INVALID_CONFIG');
      expect(error.details.param).toBe('amqp_connection');
      expect(error.message).toMatch(/^kazoo: amqp_connection must be /);
      expect(error.message).toMatch(message);
    });

    it('rejects an empty or non-string entry', () => {
      expect(() => parse('')).toThrow(/non-empty URL string/);
      expect(() => parse(7 as unknown as string)).toThrow(/non-empty URL string/);
    });

    it('accepts 512 characters and rejects 513', () => {
      const base = 'zone=z;amqp://h/';
      expect(parse(base + 'v'.repeat(512 - base.length)).vhost).toHaveLength(512 - base.length);
      expect(() => parse(base + 'v'.repeat(513 - base.length))).toThrow(/at most 512 characters long/);
    });

    it('never puts the password in an error message', () => {
      const entries = [
        'amqp://user:S3cret@h:99999',
        'amqp://user:S3cret@h?x',
        'amqp://user:S3cret@',
        'amqp://user:S3cret@h/a/b',
        'amqp://user:S3c%FFret@h',
        'amqp://user:S3:cret@h',
        'amqp://user:S3cret@ss@h',
        'amqps://user:S3cret#@h',
        'amqp://user:S3/cret@h',
        'zone=eu;http://user:S3cret@h',
        'zone=;amqp://user:S3cret@h',
        `amqp://user:S3cret@h/${'v'.repeat(600)}`,
      ];
      for (const entry of entries) {
        const error = errorOf(() => parse(entry));
        expect(error.code).toBe('INVALID_CONFIG');
        expect(error.message).not.toContain('S3');
        expect(error.message).toContain('user:***@');
      }
    });
  });

  describe('zones (docs/module-behaviour.md#zones)', () => {
    it('puts a server without prefix in the primary zone', () => {
      expect(parse('amqp://h', 3, 'dc1')).toMatchObject({ serverId: 3, zone: 'dc1', primary: true });
    });

    it('puts a zone=<name>; server in that zone, not primary', () => {
      expect(parse('zone=eu;amqp://h', 2)).toMatchObject({ serverId: 2, zone: 'eu', primary: false, host: 'h' });
    });

    it('treats zone=<primary>; as primary', () => {
      expect(parse('zone=local;amqp://h')).toMatchObject({ zone: 'local', primary: true });
    });

    it('combines a zone prefix with kazoo://', () => {
      expect(parse('zone=eu;kazoo://u:p@h')).toMatchObject({ zone: 'eu', user: 'u', tls: false });
    });

    it('rejects a zone prefix without ;', () => {
      expect(() => parse('zone=eu,amqp://h')).toThrow(/must end with ";"/);
    });

    it('rejects an empty zone name', () => {
      expect(() => parse('zone=;amqp://h')).toThrow(/zone name is empty/);
    });

    it('rejects a zone name with a quote or control character', () => {
      expect(() => parse('zone=e"u;amqp://h')).toThrow(/zone name contains/);
      expect(() => parse('zone=e\tu;amqp://h')).toThrow(/zone name contains/);
    });
  });

  describe('logging safety', () => {
    it('keeps the password readable on the endpoint', () => {
      expect(parse('amqp://u:p4ss@h').password).toBe('p4ss');
    });

    it('redacts the password in JSON.stringify and util.inspect', () => {
      const endpoint = parse('amqp://u:p4ss@h');
      expect(JSON.stringify(endpoint)).not.toContain('p4ss');
      expect(JSON.parse(JSON.stringify(endpoint)).password).toBe('***');
      expect(inspect(endpoint)).not.toContain('p4ss');
      expect(inspect({ nested: [endpoint] }, { depth: 5 })).not.toContain('p4ss');
    });

    it('rejects a bad serverId with INVALID_ARGUMENT', () => {
      expect(() => parseAmqpConnection('amqp://h', 0, 'local')).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', details: { param: 'serverId' } }),
      );
    });
  });
});

describe('redactUrl()', () => {
  const cases: Array<[string, string]> = [
    ['amqp://user:pass@host:5672/vhost', 'amqp://user:***@host:5672/vhost'],
    ['amqps://u:p@h', 'amqps://u:***@h'],
    ['zone=eu;amqp://u:p@h', 'zone=eu;amqp://u:***@h'],
    ['amqp://u:@h', 'amqp://u:***@h'],
    ['amqp://u:p@ss@h', 'amqp://u:***@h'],
    ['amqp://u:pa/ss@h/v', 'amqp://u:***@h/v'],
    ['amqp://u:a://b@h', 'amqp://u:***@h'],
    ['u:p@h', 'u:***@h'],
    ['amqp://u@h:5672', 'amqp://u@h:5672'],
    ['amqp://h:5672/v', 'amqp://h:5672/v'],
    ['', ''],
  ];
  it.each(cases)('redacts %j as %j', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });
});

describe('redactValue()', () => {
  it('redacts every string in nested arrays and objects', () => {
    expect(redactValue(['amqp://u:p@h', { url: 'amqp://a:b@c', n: 1 }])).toEqual([
      'amqp://u:***@h',
      { url: 'amqp://a:***@c', n: 1 },
    ]);
  });
});
