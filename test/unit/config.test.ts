import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULTS, emitConfigWarnings, resolveConfig, type KazooConfig } from '../../lib/config';
import { KazooError } from '../../lib/errors';
import { errorOf } from '../support/errors';

const BASE: KazooConfig = { node_hostname: 'sip1.example.com', amqp_connection: 'amqp://kazoo:S3cret@rabbit1:5672' };
const with_ = (extra: Record<string, unknown>): KazooConfig => ({ ...BASE, ...extra }) as KazooConfig;

function expectInvalid(config: unknown, param: string, message?: RegExp): KazooError {
  const error = errorOf(() => resolveConfig(config as KazooConfig));
  expect(error).toBeInstanceOf(KazooError);
  expect(error.code).toBe('INVALID_CONFIG');
  expect(error.details.param).toBe(param);
  if (message) expect(error.message).toMatch(message);
  expect(error.message).not.toContain('S3cret');
  return error;
}

describe('DEFAULTS', () => {
  it("holds the module's defaults of docs/module-behaviour.md#parameters", () => {
    expect(DEFAULTS).toMatchObject({
      amqp_max_channels: 50,
      amqp_consumer_processes: 1,
      amqp_consumer_workers: 8,
      amqp_consumer_event_key: 'Event-Category',
      amqp_consumer_event_subkey: 'Event-Name',
      amqp_query_timeout_sec: 2,
      amqp_query_timeout_micro: 0,
      amqp_query_timeout_avp: null,
      amqp_waitframe_timeout_sec: 0,
      amqp_waitframe_timeout_micro: 100000,
      amqp_interprocess_timeout_sec: 0,
      amqp_interprocess_timeout_micro: 100000,
      amqp_consumer_ack_timeout_sec: 0,
      amqp_consumer_ack_timeout_micro: 100000,
      amqp_internal_loop_count: 5,
      amqp_consumer_loop_count: 10,
      amqp_consumer_ack_loop_count: 20,
      consume_messages_on_reconnect: 1,
      single_consumer_on_reconnect: 1,
      amqp_timer_process_interval: 200,
      amqp_connect_timeout_sec: 0,
      amqp_connect_timeout_micro: 200000,
      amqp_heartbeats: 0,
      amqp_primary_zone: 'local',
      amqp_command_hashtable_size: 2048,
      amqp_result_avp: '$avp(amqp_result)',
      json_escape_char: '%',
      app_name: 'kamailio',
      use_federated_exchange: 0,
      federated_exchange: 'federation',
      amqps_ca_cert: null,
      amqps_cert: null,
      amqps_key: null,
      amqps_verify_peer: 1,
      amqps_verify_hostname: 1,
      db_url: null,
      presentity_table: 'presentity',
      pua_mode: 1,
      pua_include_entity: 1,
      pua_lock_type: 1,
      presence_use_full_entity: 0,
      event_callback: null,
    });
  });

  it("holds kazoo-amqp's own defaults, with app_version from package.json", () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(DEFAULTS).toMatchObject({
      app_version: pkg.version,
      amqp_publisher_confirms: 1,
      amqp_consumer_prefetch: 64,
      query_late_replies: 'deliver',
      requeue_on_error: 0,
      amqp_reconnect_min_ms: 100,
      amqp_reconnect_max_ms: 5000,
      encode_compat: 'kazoo',
    });
  });

  it('is frozen', () => {
    expect(Object.isFrozen(DEFAULTS)).toBe(true);
  });
});

describe('resolveConfig()', () => {
  describe('a minimal configuration', () => {
    const resolved = resolveConfig(BASE);

    it('applies every default', () => {
      expect(resolved).toMatchObject(DEFAULTS);
      expect(resolved.node_hostname).toBe('sip1.example.com');
    });

    it('derives the timeouts in milliseconds', () => {
      expect(resolved.queryTimeoutMs).toBe(2000);
      expect(resolved.connectTimeoutMs).toBe(200);
    });

    it('parses the servers, primary zone by default', () => {
      expect(resolved.servers).toEqual([
        expect.objectContaining({
          serverId: 1,
          zone: 'local',
          primary: true,
          host: 'rabbit1',
          port: 5672,
          user: 'kazoo',
          password: 'S3cret',
          url: 'amqp://kazoo:***@rabbit1:5672/%2F',
        }),
      ]);
    });

    it('lists amqp_connection with passwords redacted', () => {
      expect(resolved.amqp_connection).toEqual(['amqp://kazoo:***@rabbit1:5672']);
      expect(JSON.stringify(resolved)).not.toContain('S3cret');
    });

    it('has no warnings', () => {
      expect(resolved.warnings).toEqual([]);
    });

    it('is frozen', () => {
      expect(Object.isFrozen(resolved)).toBe(true);
      expect(Object.isFrozen(resolved.servers)).toBe(true);
    });
  });

  it('numbers several servers 1-based in order, across zones', () => {
    const resolved = resolveConfig(
      with_({
        amqp_primary_zone: 'us',
        amqp_connection: ['amqp://a', 'zone=eu;amqp://b', 'zone=us;amqps://c', 'kazoo://d'],
      }),
    );
    expect(resolved.servers.map((s) => [s.serverId, s.host, s.zone, s.primary, s.tls])).toEqual([
      [1, 'a', 'us', true, false],
      [2, 'b', 'eu', false, false],
      [3, 'c', 'us', true, true],
      [4, 'd', 'us', true, false],
    ]);
  });

  it('keeps given values and turns flags into 0|1', () => {
    const resolved = resolveConfig(
      with_({
        amqp_max_channels: 10,
        amqp_consumer_workers: 16,
        amqp_heartbeats: 30,
        amqp_publisher_confirms: false,
        requeue_on_error: true,
        amqps_verify_peer: 0,
        pua_mode: false,
        query_late_replies: 'drop',
        encode_compat: 'kamailio-x86',
        json_escape_char: '#',
        event_callback: 'ksr_kazoo_event',
        db_url: 'mysql://kamailio:dbpw@db/kamailio',
      }),
    );
    expect(resolved).toMatchObject({
      amqp_max_channels: 10,
      amqp_consumer_workers: 16,
      amqp_heartbeats: 30,
      amqp_publisher_confirms: 0,
      requeue_on_error: 1,
      amqps_verify_peer: 0,
      pua_mode: 0,
      query_late_replies: 'drop',
      encode_compat: 'kamailio-x86',
      json_escape_char: '#',
      event_callback: 'ksr_kazoo_event',
      db_url: 'mysql://kamailio:dbpw@db/kamailio',
    });
  });

  it('treats undefined as not given and null as unset for optional strings', () => {
    const resolved = resolveConfig(with_({ amqp_max_channels: undefined, amqps_ca_cert: null, amqp_query_timeout_avp: null }));
    expect(resolved.amqp_max_channels).toBe(50);
    expect(resolved.amqps_ca_cert).toBeNull();
  });

  it('rounds sub-millisecond timeouts up', () => {
    const resolved = resolveConfig(
      with_({ amqp_query_timeout_sec: 0, amqp_query_timeout_micro: 1500, amqp_connect_timeout_micro: 1 }),
    );
    expect(resolved.queryTimeoutMs).toBe(2);
    expect(resolved.connectTimeoutMs).toBe(1);
  });

  it('combines seconds and microseconds', () => {
    const resolved = resolveConfig(
      with_({ amqp_query_timeout_sec: 3, amqp_query_timeout_micro: 250000, amqp_connect_timeout_sec: 1, amqp_connect_timeout_micro: 0 }),
    );
    expect(resolved.queryTimeoutMs).toBe(3250);
    expect(resolved.connectTimeoutMs).toBe(1000);
  });

  it('compares zone prefixes with the final amqp_primary_zone, whatever the key order', () => {
    const resolved = resolveConfig({
      node_hostname: 'n',
      amqp_connection: ['zone=dc1;amqp://a', 'amqp://b'],
      amqp_primary_zone: 'dc1',
    });
    expect(resolved.servers.every((s) => s.primary && s.zone === 'dc1')).toBe(true);
  });

  describe('rejections', () => {
    it('rejects a non-object', () => {
      for (const bad of [null, undefined, 'amqp://u:S3cret@h', 42, ['amqp://h']]) expectInvalid(bad, 'config', /^kazoo: config must be an object/);
    });

    it('rejects an unknown key and suggests the closest name', () => {
      const error = expectInvalid(with_({ amqp_query_timout_sec: 3 }), 'amqp_query_timout_sec');
      expect(error.message).toBe('kazoo: amqp_query_timout_sec is not a kazoo parameter (did you mean amqp_query_timeout_sec?)');
    });

    it('suggests the renamed timer parameter for its old misspelling', () => {
      expect(expectInvalid(with_({ amqp_timmer_process_interval: 200 }), 'amqp_timmer_process_interval').message).toContain(
        'did you mean amqp_timer_process_interval?',
      );
    });

    it('suggests snake_case for a camelCase key', () => {
      expect(expectInvalid({ nodeHostname: 'x', amqp_connection: 'amqp://h' }, 'nodeHostname').message).toContain(
        'did you mean node_hostname?',
      );
    });

    it('makes no suggestion for an unrelated key, and never shows its value', () => {
      const error = expectInvalid(with_({ zzzzzzzz: 'S3cret' }), 'zzzzzzzz');
      expect(error.message).toBe('kazoo: zzzzzzzz is not a kazoo parameter');
    });

    it('requires node_hostname', () => {
      expectInvalid({ amqp_connection: 'amqp://h' }, 'node_hostname', /required/);
      expectInvalid(with_({ node_hostname: '' }), 'node_hostname', /non-empty string/);
      expectInvalid(with_({ node_hostname: 5 }), 'node_hostname');
      expectInvalid(with_({ node_hostname: 'h'.repeat(201) }), 'node_hostname', /at most 200 bytes/);
    });

    it('requires amqp_connection', () => {
      expectInvalid({ node_hostname: 'n' }, 'amqp_connection', /required/);
      expectInvalid(with_({ amqp_connection: '' }), 'amqp_connection');
      expectInvalid(with_({ amqp_connection: [] }), 'amqp_connection');
      expectInvalid(with_({ amqp_connection: ['amqp://h', 7] }), 'amqp_connection');
      expectInvalid(with_({ amqp_connection: { url: 'amqp://u:S3cret@h' } }), 'amqp_connection');
    });

    it('rejects a bad URL with the password redacted', () => {
      const error = expectInvalid(with_({ amqp_connection: ['amqp://a', 'amqp://u:S3cret@h:99999'] }), 'amqp_connection');
      expect(error.message).toContain('u:***@h:99999');
    });

    it('rejects wrong types, naming the parameter', () => {
      expectInvalid(with_({ amqp_max_channels: '50' }), 'amqp_max_channels', /must be an integer 1\.\.1024, got "50"/);
      expectInvalid(with_({ amqp_heartbeats: 1.5 }), 'amqp_heartbeats');
      expectInvalid(with_({ amqp_consumer_event_key: 1 }), 'amqp_consumer_event_key');
      expectInvalid(with_({ app_name: '' }), 'app_name');
      expectInvalid(with_({ db_url: '' }), 'db_url');
      expectInvalid(with_({ amqp_max_channels: null }), 'amqp_max_channels');
      expectInvalid(with_({ query_late_replies: 'keep' }), 'query_late_replies', /one of "deliver", "drop"/);
      expectInvalid(with_({ encode_compat: 'arm' }), 'encode_compat');
      expectInvalid(with_({ pua_lock_type: 3 }), 'pua_lock_type');
    });

    it('rejects integers out of range', () => {
      const cases: Array<[string, unknown[]]> = [
        ['amqp_max_channels', [0, 1025, -1]],
        ['amqp_consumer_processes', [0, 257]],
        ['amqp_heartbeats', [-1, 65536]],
        ['amqp_consumer_prefetch', [0, 65536]],
        ['amqp_query_timeout_micro', [-1, 1000000]],
        ['amqp_connect_timeout_micro', [1000000]],
        ['amqp_waitframe_timeout_micro', [1000000]],
        ['amqp_interprocess_timeout_micro', [1000000]],
        ['amqp_consumer_ack_timeout_micro', [1000000]],
        ['amqp_command_hashtable_size', [0]],
        ['amqp_reconnect_min_ms', [0]],
        ['amqp_internal_loop_count', [-1]],
        ['amqp_consumer_read_window_ms', [-1, 101, 1.5]],
      ];
      for (const [param, values] of cases) {
        for (const value of values) expectInvalid(with_({ [param]: value }), param, /must be an integer/);
      }
    });

    it('accepts the range bounds', () => {
      expect(() =>
        resolveConfig(
          with_({ amqp_max_channels: 1024, amqp_heartbeats: 65535, amqp_consumer_prefetch: 65535, amqp_query_timeout_micro: 999999, amqp_consumer_read_window_ms: 100 }),
        ),
      ).not.toThrow();
    });

    it('requires amqp_consumer_workers to be a power of two 1..1024', () => {
      for (const ok of [1, 2, 64, 1024]) expect(resolveConfig(with_({ amqp_consumer_workers: ok })).amqp_consumer_workers).toBe(ok);
      for (const bad of [0, 3, 10, 2048, 8.5]) {
        expectInvalid(with_({ amqp_consumer_workers: bad }), 'amqp_consumer_workers', /power of two 1\.\.1024/);
      }
    });

    it('rejects a total query timeout of 0', () => {
      expectInvalid(with_({ amqp_query_timeout_sec: 0, amqp_query_timeout_micro: 0 }), 'amqp_query_timeout_sec', /wait forever/);
    });

    it('rejects a total connect timeout of 0', () => {
      expectInvalid(with_({ amqp_connect_timeout_sec: 0, amqp_connect_timeout_micro: 0 }), 'amqp_connect_timeout_sec', /above 0/);
    });

    it('rejects amqp_reconnect_min_ms above amqp_reconnect_max_ms', () => {
      expectInvalid(
        with_({ amqp_reconnect_min_ms: 6000 }),
        'amqp_reconnect_min_ms',
        /must be at most amqp_reconnect_max_ms \(5000\), got 6000/,
      );
      expect(resolveConfig(with_({ amqp_reconnect_min_ms: 200, amqp_reconnect_max_ms: 200 })).amqp_reconnect_max_ms).toBe(200);
    });

    it('accepts 0/1/true/false for flags and nothing else', () => {
      for (const bad of [2, -1, '1', 'true', null]) expectInvalid(with_({ amqps_verify_hostname: bad }), 'amqps_verify_hostname', /0, 1, true or false/);
    });

    it('requires json_escape_char to be one character', () => {
      for (const bad of ['', '%%', 5, 'é']) expectInvalid(with_({ json_escape_char: bad }), 'json_escape_char', /one-character/);
    });

    it('requires pseudo-variable specs for amqp_query_timeout_avp and amqp_result_avp', () => {
      expect(resolveConfig(with_({ amqp_query_timeout_avp: '$avp(kz_timeout)' })).amqp_query_timeout_avp).toBe('$avp(kz_timeout)');
      expect(resolveConfig(with_({ amqp_query_timeout_avp: '$var(t)' })).amqp_query_timeout_avp).toBe('$var(t)');
      expectInvalid(with_({ amqp_query_timeout_avp: 'kz_timeout' }), 'amqp_query_timeout_avp', /pseudo-variable/);
      expectInvalid(with_({ amqp_result_avp: '' }), 'amqp_result_avp');
    });

    it('requires amqps_cert and amqps_key together', () => {
      expectInvalid(with_({ amqps_cert: '/etc/c.pem' }), 'amqps_key', /set when amqps_cert is set/);
      expectInvalid(with_({ amqps_key: '/etc/k.pem' }), 'amqps_cert', /set when amqps_key is set/);
      expect(resolveConfig(with_({ amqps_cert: '/c', amqps_key: '/k' }))).toMatchObject({ amqps_cert: '/c', amqps_key: '/k' });
    });

    it('rejects a primary zone name that would break event payloads', () => {
      expectInvalid(with_({ amqp_primary_zone: 'a"b' }), 'amqp_primary_zone');
      expectInvalid(with_({ amqp_primary_zone: '' }), 'amqp_primary_zone');
    });

    it('never shows a password held by a wrongly typed parameter', () => {
      const error = expectInvalid(with_({ app_name: ['amqp://u:S3cret@h'] }), 'app_name');
      expect(error.message).toContain('u:***@h');
    });
  });

  describe('dead parameters', () => {
    const dead = [
      'amqp_interprocess_timeout_sec',
      'amqp_interprocess_timeout_micro',
      'amqp_consumer_ack_timeout_sec',
      'amqp_consumer_ack_timeout_micro',
      'amqp_internal_loop_count',
      'amqp_consumer_loop_count',
      'amqp_consumer_ack_loop_count',
      'consume_messages_on_reconnect',
      'single_consumer_on_reconnect',
      'amqp_timer_process_interval',
      'amqp_result_avp',
      'use_federated_exchange',
      'federated_exchange',
      'presence_use_full_entity',
    ];
    const values: Record<string, unknown> = {
      amqp_result_avp: '$avp(x)',
      federated_exchange: 'fed',
      consume_messages_on_reconnect: 0,
      single_consumer_on_reconnect: true,
      use_federated_exchange: 1,
      presence_use_full_entity: 1,
    };

    it.each(dead)('accepts %s and warns that it has no effect', (param) => {
      const resolved = resolveConfig(with_({ [param]: values[param] ?? 1 }));
      expect(resolved.warnings).toEqual([`kazoo: ${param} has no effect (dead in the Kamailio module too)`]);
    });

    it('warns about amqp_waitframe_timeout_* too, with its own reason', () => {
      const resolved = resolveConfig(with_({ amqp_waitframe_timeout_sec: 1, amqp_waitframe_timeout_micro: 0 }));
      expect(resolved.warnings).toHaveLength(2);
      expect(resolved.warnings[0]).toMatch(/^kazoo: amqp_waitframe_timeout_sec has no effect \(/);
      expect(resolved.warnings[1]).toMatch(/^kazoo: amqp_waitframe_timeout_micro has no effect \(/);
    });

    it('still validates dead parameters', () => {
      expectInvalid(with_({ amqp_consumer_loop_count: 'ten' }), 'amqp_consumer_loop_count');
      expectInvalid(with_({ amqp_interprocess_timeout_micro: 1000000 }), 'amqp_interprocess_timeout_micro');
      expectInvalid(with_({ use_federated_exchange: 2 }), 'use_federated_exchange');
    });

    it('gives one warning per dead parameter, in the order given', () => {
      const resolved = resolveConfig(with_({ amqp_consumer_loop_count: 1, amqp_internal_loop_count: 1 }));
      expect(resolved.warnings).toEqual([
        'kazoo: amqp_consumer_loop_count has no effect (dead in the Kamailio module too)',
        'kazoo: amqp_internal_loop_count has no effect (dead in the Kamailio module too)',
      ]);
    });

    it('does not warn about a dead parameter left undefined', () => {
      expect(resolveConfig(with_({ amqp_consumer_loop_count: undefined })).warnings).toEqual([]);
    });
  });
});

describe('emitConfigWarnings()', () => {
  afterEach(() => jest.restoreAllMocks());

  it('emits each message once per process with code KAZOO_DEAD_PARAM', () => {
    const emit = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const unique = `kazoo: test_param_${Date.now()} has no effect (dead in the Kamailio module too)`;
    emitConfigWarnings([unique, unique]);
    emitConfigWarnings([unique]);
    expect(emit).toHaveBeenCalledTimes(1);
    expect(emit).toHaveBeenCalledWith(unique, { code: 'KAZOO_DEAD_PARAM' });
  });

  it('emits distinct messages separately', () => {
    const emit = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    emitConfigWarnings([`kazoo: a_${Date.now()} x`, `kazoo: b_${Date.now()} x`]);
    expect(emit).toHaveBeenCalledTimes(2);
  });

  it('emits nothing for no warnings', () => {
    const emit = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    emitConfigWarnings([]);
    expect(emit).not.toHaveBeenCalled();
  });
});
