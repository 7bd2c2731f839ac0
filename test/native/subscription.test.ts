/**
 * normalizeSubscription(): kazoo_subscribe's JSON description (docs/module-behaviour.md#subscribe) with the module's
 * defaults, its flag-sharing rules, json-c's int/string conversions and kazoo-amqp's extensions.
 * JSON text descriptions go through the addon's json-c lenient parser.
 */
import { resolveConfig, type KazooConfig } from '../../lib/config';
import { KazooError } from '../../lib/errors';
import { normalizeSubscription, type SubscriptionDescription } from '../../lib/subscription';
import { errorOf } from '../support/errors';

const BASE: KazooConfig = { node_hostname: 'sip1.example.com', amqp_connection: 'amqp://127.0.0.1' };
const CONFIG = resolveConfig(BASE);

const norm = (d: unknown, config = CONFIG) => normalizeSubscription(d as SubscriptionDescription, config);

function expectError(d: unknown, code: string, param?: string): KazooError {
  const error = errorOf(() => norm(d));
  expect(error).toBeInstanceOf(KazooError);
  expect(error.code).toBe(code);
  if (param !== undefined) expect(error.details.param).toBe(param);
  return error;
}

describe('normalizeSubscription(): defaults (docs/module-behaviour.md#subscribe)', () => {
  it('fills every field with the module default for an empty description', () => {
    const n = norm({});
    expect(n.native).toEqual({
      exchange: '',
      exchangeType: '',
      exchangePassive: false,
      exchangeDurable: false,
      exchangeAutoDelete: false,
      exchangeInternal: false,
      queue: '',
      queuePassive: false,
      queueDurable: false,
      queueExclusive: false,
      queueAutoDelete: true,
      queueArguments: {},
      routing: [''],
      exchangeBindings: [],
      noAck: true,
      prefetch: 64,
      eventKey: 'Event-Category',
      eventSubkey: 'Event-Name',
      consistentWorkerKey: '',
    });
    expect(n.federate).toBe(false);
    expect(n.consistentWorker).toBe(false);
    expect(n.waitForConsumerAck).toBe(true);
    expect(n.requeueOnError).toBe(false);
    expect(n.bindingEventKey).toBeUndefined();
    expect(n.bindingEventSubkey).toBeUndefined();
  });

  it('takes exchange, type and queue as given and ignores unknown fields (e.g. 2600hz "name")', () => {
    const n = norm({ exchange: 'callevt', type: 'topic', queue: 'q1', name: 'whatever', routing: 'call.*' });
    expect(n.native).toMatchObject({ exchange: 'callevt', exchangeType: 'topic', queue: 'q1', routing: ['call.*'] });
  });

  it('does not modify the description object', () => {
    const d = { exchange: 'x', type: 'topic', routing: ['a', 'b'], 'queue-def': { durable: 1 } };
    const copy = JSON.parse(JSON.stringify(d));
    norm(d);
    expect(d).toEqual(copy);
  });

  it('uses amqp_consumer_prefetch, requeue_on_error and the event key parameters of the config', () => {
    const config = resolveConfig({
      ...BASE,
      amqp_consumer_prefetch: 7,
      requeue_on_error: 1,
      amqp_consumer_event_key: 'Category',
      amqp_consumer_event_subkey: 'Name',
    });
    const n = norm({}, config);
    expect(n.native.prefetch).toBe(7);
    expect(n.requeueOnError).toBe(true);
    expect(n.native.eventKey).toBe('Category');
    expect(n.native.eventSubkey).toBe('Name');
  });
});

describe('normalizeSubscription(): flag sharing and exchange-def / queue-def precedence', () => {
  it('applies top-level durable/auto_delete/passive to BOTH the exchange and the queue', () => {
    const n = norm({ exchange: 'x', type: 'topic', durable: 1, auto_delete: 1, passive: 1 });
    expect(n.native).toMatchObject({
      exchangeDurable: true,
      exchangeAutoDelete: true,
      exchangePassive: true,
      queueDurable: true,
      queueAutoDelete: true,
      queuePassive: true,
    });
  });

  it('keeps the per-object defaults for what is not given (exchange auto_delete 0, queue auto_delete 1)', () => {
    const n = norm({ exchange: 'x', type: 'topic', durable: true });
    expect(n.native).toMatchObject({ exchangeDurable: true, exchangeAutoDelete: false, queueDurable: true, queueAutoDelete: true });
  });

  it('auto_delete 0 at top level turns the queue default off too', () => {
    const n = norm({ exchange: 'x', type: 'topic', auto_delete: 0 });
    expect(n.native).toMatchObject({ exchangeAutoDelete: false, queueAutoDelete: false });
  });

  it('applies exclusive to the queue only and internal to the exchange only', () => {
    const n = norm({ exchange: 'x', type: 'topic', exclusive: 1, internal: 1 });
    expect(n.native).toMatchObject({ queueExclusive: true, exchangeInternal: true });
    // Nothing else picked them up.
    expect(n.native).toMatchObject({ exchangeDurable: false, exchangeAutoDelete: false, queueDurable: false });
  });

  it('exchange-def wins over every top-level exchange field, including type', () => {
    const n = norm({
      exchange: 'x',
      type: 'topic',
      durable: 1,
      auto_delete: 1,
      internal: 1,
      passive: 0,
      'exchange-def': { type: 'fanout' },
    });
    expect(n.native).toMatchObject({
      exchangeType: 'fanout',
      exchangeDurable: false,
      exchangeAutoDelete: false,
      exchangeInternal: false,
      exchangePassive: false,
      // the queue still takes the top-level flags (no queue-def)
      queueDurable: true,
      queueAutoDelete: true,
    });
  });

  it('exchange-def flags are read from the object', () => {
    const n = norm({
      exchange: 'x',
      'exchange-def': { type: 'headers', durable: true, auto_delete: '1', internal: 1, passive: 0 },
    });
    expect(n.native).toMatchObject({
      exchangeType: 'headers',
      exchangeDurable: true,
      exchangeAutoDelete: true,
      exchangeInternal: true,
      exchangePassive: false,
    });
  });

  it('queue-def wins over every top-level queue flag, with the queue defaults for what it omits', () => {
    const n = norm({
      exchange: 'x',
      type: 'direct',
      durable: 1,
      auto_delete: 0,
      exclusive: 1,
      passive: 1,
      'queue-def': { durable: 0 },
    });
    expect(n.native).toMatchObject({
      queueDurable: false,
      queueAutoDelete: true,
      queueExclusive: false,
      queuePassive: false,
      // the exchange still takes the top-level flags (no exchange-def)
      exchangeDurable: true,
      exchangeAutoDelete: false,
      exchangePassive: true,
    });
  });

  it('with both defs, top-level flags are ignored entirely', () => {
    const n = norm({
      exchange: 'x',
      type: 'topic',
      durable: 1,
      auto_delete: 1,
      'exchange-def': { type: 'direct', durable: 1 },
      'queue-def': { exclusive: 1, auto_delete: 0 },
    });
    expect(n.native).toMatchObject({
      exchangeType: 'direct',
      exchangeDurable: true,
      exchangeAutoDelete: false,
      queueDurable: false,
      queueAutoDelete: false,
      queueExclusive: true,
    });
  });

  it('queue-def.arguments (kazoo-amqp extension) passes string and integer values through', () => {
    const n = norm({
      'queue-def': { arguments: { 'x-dead-letter-exchange': 'dlx', 'x-message-ttl': 60000, 'x-queue-mode': 'lazy' } },
    });
    expect(n.native.queueArguments).toEqual({ 'x-dead-letter-exchange': 'dlx', 'x-message-ttl': 60000, 'x-queue-mode': 'lazy' });
  });

  it('ignores a top-level "arguments" (the module has no queue arguments; only queue-def carries them)', () => {
    const n = norm({ arguments: { 'x-message-ttl': 1 } });
    expect(n.native.queueArguments).toEqual({});
  });

  it.each([
    [{ 'queue-def': { arguments: { 'x-message-ttl': 1.5 } } }, 'subscribe.queue-def.arguments.x-message-ttl'],
    [{ 'queue-def': { arguments: { 'x-flag': true } } }, 'subscribe.queue-def.arguments.x-flag'],
    [{ 'queue-def': { arguments: { 'x-o': { a: 1 } } } }, 'subscribe.queue-def.arguments.x-o'],
    [{ 'queue-def': { arguments: 'x' } }, 'subscribe.queue-def.arguments'],
    [{ 'queue-def': [1] }, 'subscribe.queue-def'],
    [{ exchange: 'x', 'exchange-def': 'fanout' }, 'subscribe.exchange-def'],
  ])('rejects a malformed def %j naming %s', (d, param) => {
    expectError(d, 'INVALID_ARGUMENT', param);
  });
});

describe("normalizeSubscription(): json-c's int and string conversions", () => {
  it.each([
    [1, true],
    [0, false],
    [true, true],
    [false, false],
    ['1', true],
    ['0', false],
    [' 1', true],
    ['abc', false],
    ['', false],
    [null, false],
    [2, true],
    [-1, true],
    [0.5, false],
    [1.9, true],
  ])('durable %j → %s', (value, expected) => {
    const n = norm({ durable: value });
    expect(n.native.queueDurable).toBe(expected);
    expect(n.native.exchangeDurable).toBe(expected);
  });

  it('null turns a default-1 flag off (json-c null → 0)', () => {
    const n = norm({ no_ack: null, wait_for_consumer_ack: null, auto_delete: null });
    expect(n.native.noAck).toBe(false);
    expect(n.waitForConsumerAck).toBe(false);
    expect(n.native.queueAutoDelete).toBe(false);
  });

  it('reads no_ack, wait_for_consumer_ack, federate, consistent-worker and requeue_on_error', () => {
    const n = norm({
      no_ack: 0,
      wait_for_consumer_ack: '0',
      federate: true,
      'consistent-worker': '1',
      'consistent-worker-key': 'Call-ID',
      requeue_on_error: 1,
    });
    expect(n.native.noAck).toBe(false);
    expect(n.waitForConsumerAck).toBe(false);
    expect(n.federate).toBe(true);
    expect(n.consistentWorker).toBe(true);
    expect(n.native.consistentWorkerKey).toBe('Call-ID');
    expect(n.requeueOnError).toBe(true);
  });

  it('a per-subscription requeue_on_error 0 overrides the config', () => {
    const config = resolveConfig({ ...BASE, requeue_on_error: 1 });
    expect(norm({ requeue_on_error: 0 }, config).requeueOnError).toBe(false);
    expect(norm({}, config).requeueOnError).toBe(true);
  });

  it.each([
    [{ durable: { a: 1 } }, 'subscribe.durable'],
    [{ no_ack: [1] }, 'subscribe.no_ack'],
    [{ 'queue-def': { exclusive: {} } }, 'subscribe.queue-def.exclusive'],
    [{ 'exchange-def': { type: 'topic', internal: [] } }, 'subscribe.exchange-def.internal'],
  ])('rejects a non-scalar flag %j naming %s', (d, param) => {
    expectError(d, 'INVALID_ARGUMENT', param);
  });

  it('stringifies numbers and booleans given for string fields', () => {
    const n = norm({ exchange: 5, type: 'topic', queue: true, routing: [1, true, 'k'], event_key: 7 });
    expect(n.native.exchange).toBe('5');
    expect(n.native.queue).toBe('true');
    expect(n.native.routing).toEqual(['1', 'true', 'k']);
    expect(n.native.eventKey).toBe('7');
  });

  it('rejects objects given for string fields, naming the field', () => {
    expectError({ exchange: { a: 1 } }, 'INVALID_ARGUMENT', 'subscribe.exchange');
    expectError({ queue: ['q'] }, 'INVALID_ARGUMENT', 'subscribe.queue');
    expectError({ routing: [{}] }, 'INVALID_ARGUMENT', 'subscribe.routing[0]');
  });
});

describe('normalizeSubscription(): routing', () => {
  it('a string is one binding key', () => {
    expect(norm({ routing: 'a.b.*' }).native.routing).toEqual(['a.b.*']);
  });

  it('an array gives one key per element, in order, used as-is (no encoding)', () => {
    expect(norm({ routing: ['b', 'a', 'a', 'x y/%'] }).native.routing).toEqual(['b', 'a', 'a', 'x y/%']);
  });

  it('absent or null routing is [""]', () => {
    expect(norm({}).native.routing).toEqual(['']);
    expect(norm({ routing: null }).native.routing).toEqual(['']);
  });

  it('an empty string is the empty binding key', () => {
    expect(norm({ routing: '' }).native.routing).toEqual(['']);
  });

  it('an empty array binds nothing', () => {
    expect(norm({ routing: [] }).native.routing).toEqual([]);
  });

  it('rejects a key over 255 bytes (counted in UTF-8)', () => {
    expect(norm({ routing: ['é'.repeat(127)] }).native.routing).toHaveLength(1);
    expectError({ routing: ['ok', 'é'.repeat(128)] }, 'ROUTING_KEY_TOO_LONG', 'subscribe.routing');
  });

  it('rejects a number or an object instead of silently binding "" (typed error, module treats as absent)', () => {
    expectError({ routing: 5 }, 'INVALID_ARGUMENT', 'subscribe.routing');
    expectError({ routing: { a: 1 } }, 'INVALID_ARGUMENT', 'subscribe.routing');
  });
});

describe('normalizeSubscription(): exchange-bindings', () => {
  it('keeps EVERY entry with routing, in order (the module keeps only the first)', () => {
    const n = norm({
      exchange: 'dest',
      type: 'topic',
      'exchange-bindings': {
        src1: { type: 'topic', routing: ['a.*', 'b.#'], durable: 1 },
        src2: { type: 'fanout', routing: '' , auto_delete: true, internal: '1', passive: 0 },
        src3: { type: 'direct' },
        src4: { type: 'direct', routing: 'k4' },
      },
    });
    expect(n.native.exchangeBindings).toEqual([
      { source: 'src1', type: 'topic', passive: false, durable: true, autoDelete: false, internal: false, routing: ['a.*', 'b.#'] },
      { source: 'src2', type: 'fanout', passive: false, durable: false, autoDelete: true, internal: true, routing: [''] },
      { source: 'src4', type: 'direct', passive: false, durable: false, autoDelete: false, internal: false, routing: ['k4'] },
    ]);
  });

  it('skips entries without routing and null entries', () => {
    const n = norm({ exchange: 'd', type: 'topic', 'exchange-bindings': { s1: { type: 'topic' }, s2: null, s3: { routing: null } } });
    expect(n.native.exchangeBindings).toEqual([]);
  });

  it('rejects a non-object entry or a source name over 255 bytes', () => {
    expectError({ exchange: 'd', type: 'topic', 'exchange-bindings': { s1: 'topic' } }, 'INVALID_ARGUMENT', 'subscribe.exchange-bindings.s1');
    expectError({ exchange: 'd', type: 'topic', 'exchange-bindings': [] }, 'INVALID_ARGUMENT', 'subscribe.exchange-bindings');
    const long = 's'.repeat(256);
    expectError({ exchange: 'd', type: 'topic', 'exchange-bindings': { [long]: { type: 'topic', routing: 'k' } } }, 'EXCHANGE_NAME_TOO_LONG');
  });
});

describe('normalizeSubscription(): names and types', () => {
  it('requires a type for a non-passive named exchange', () => {
    const e = expectError({ exchange: 'x' }, 'INVALID_ARGUMENT');
    expect(e.details.param).toBe('subscribe.type');
  });

  it('names exchange-def.type when exchange-def exists but has no type (the top-level type is ignored then)', () => {
    const e = expectError({ exchange: 'x', type: 'topic', 'exchange-def': { durable: 1 } }, 'INVALID_ARGUMENT');
    expect(e.details.param).toBe('subscribe.exchange-def.type');
  });

  it('allows no type for a passive exchange and for the default exchange', () => {
    expect(norm({ exchange: 'x', passive: 1 }).native.exchangeType).toBe('');
    expect(norm({ exchange: '', queue: 'q' }).native.exchange).toBe('');
  });

  it('rejects an exchange name over 255 bytes and a queue name over 255 bytes', () => {
    expectError({ exchange: 'e'.repeat(256), type: 'topic' }, 'EXCHANGE_NAME_TOO_LONG', 'subscribe.exchange');
    expectError({ queue: 'q'.repeat(256) }, 'INVALID_ARGUMENT', 'subscribe.queue');
    expect(norm({ exchange: 'e'.repeat(255), type: 'topic', queue: 'q'.repeat(255) }).native.queue).toHaveLength(255);
  });

  it.each([[null], [[1]], [42], [undefined]])('rejects a description that is not an object: %j', (d) => {
    expectError(d, 'INVALID_ARGUMENT', 'subscribe');
  });
});

describe('normalizeSubscription(): event keys and prefetch', () => {
  it("a binding's event_key / event_subkey replace the config keys and are kept as literal fallbacks", () => {
    const n = norm({ event_key: 'acl', event_subkey: 'Action' });
    expect(n.native.eventKey).toBe('acl');
    expect(n.native.eventSubkey).toBe('Action');
    expect(n.bindingEventKey).toBe('acl');
    expect(n.bindingEventSubkey).toBe('Action');
  });

  it('an empty event_key is the same as none', () => {
    const n = norm({ event_key: '', event_subkey: null });
    expect(n.native.eventKey).toBe('Event-Category');
    expect(n.native.eventSubkey).toBe('Event-Name');
    expect(n.bindingEventKey).toBeUndefined();
    expect(n.bindingEventSubkey).toBeUndefined();
  });

  it('prefetch is 1..65535', () => {
    expect(norm({ prefetch: 1 }).native.prefetch).toBe(1);
    expect(norm({ prefetch: 65535 }).native.prefetch).toBe(65535);
    for (const bad of [0, 65536, 1.5, -1, '16', null]) expectError({ prefetch: bad }, 'INVALID_ARGUMENT', 'subscribe.prefetch');
  });
});

describe('normalizeSubscription(): JSON text (json-c lenient parser)', () => {
  it('reads the module-style text with single quotes, comments and trailing commas', () => {
    const n = norm(`{
      'exchange' : 'presence', // a comment
      'type' : 'topic',
      /* block comment */
      'queue' : 'presence-q',
      'routing' : ['dialog.*', 'update.*',],
      'durable' : TRUE,
      'queue-def' : { 'auto_delete' : 0, },
      'event_key' : 'Event-Category',
    }`);
    expect(n.native).toMatchObject({
      exchange: 'presence',
      exchangeType: 'topic',
      queue: 'presence-q',
      routing: ['dialog.*', 'update.*'],
      exchangeDurable: true,
      queueDurable: false,
      queueAutoDelete: false,
    });
  });

  it('keeps the last value of a duplicate key and accepts trailing garbage', () => {
    const n = norm('{"queue":"a","queue":"b","routing":"k"} trailing');
    expect(n.native.queue).toBe('b');
    expect(n.native.routing).toEqual(['k']);
  });

  it('rejects text that is not JSON with INVALID_JSON and a position', () => {
    const e = expectError('{"exchange": "x", type: "topic"}', 'INVALID_JSON');
    expect(typeof e.details.position).toBe('number');
  });

  it('rejects JSON text that is not an object', () => {
    expectError('[1, 2]', 'INVALID_ARGUMENT', 'subscribe');
    expectError('"x"', 'INVALID_ARGUMENT', 'subscribe');
  });

  it('ignores an unknown field holding NaN/Infinity (json-c accepts them) instead of throwing a SyntaxError', () => {
    const run = () => norm('{"exchange":"x","type":"topic","routing":"k","x-ttl":NaN,"x-max":Infinity}');
    let thrown: unknown;
    try {
      run();
    } catch (e) {
      thrown = e;
    }
    // Either accepted (unknown fields are ignored, like the module) or a typed KazooError: never a bare SyntaxError.
    if (thrown !== undefined) expect(thrown).toBeInstanceOf(KazooError);
    else expect(run().native).toMatchObject({ exchange: 'x', exchangeType: 'topic', routing: ['k'] });
  });
});
