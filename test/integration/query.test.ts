/**
 * query(): correlated request/reply over the `targeted` exchange (issue 3, docs/module-behaviour.md#query, #delivery-rewrite),
 * against a Kazoo-style responder built on amqplib (test/support/kazoo-responder.ts).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Kazoo, KazooError, type KazooConfig, type KazooEvent, type KazooReply } from '../../lib';
import { AMQP_URL, connectedKazoo, uniqueName, waitFor } from '../support/broker';
import { KazooResponder, RESPONDER_SERVER_ID } from '../support/kazoo-responder';

const LATE_ROUTE = 'kazoo:consumer-event-call-event-query-user-channels-resp';

// Everything a test opens is closed after it, even when it fails.
let clients: Kazoo[] = [];
let responders: KazooResponder[] = [];

afterEach(async () => {
  const all = [...clients.map((c) => () => c.close()), ...responders.map((r) => () => r.stop())];
  clients = [];
  responders = [];
  const results = await Promise.allSettled(all.map((f) => f()));
  const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
  if (failed) throw failed.reason;
});

interface Client {
  kz: Kazoo;
  /** Everything the client emitted as 'error'. */
  errors: KazooError[];
}

async function client(overrides: Partial<KazooConfig> = {}): Promise<Client> {
  const kz = await connectedKazoo({ amqp_query_timeout_sec: 2, query_late_replies: 'deliver', ...overrides });
  clients.push(kz);
  const errors: KazooError[] = [];
  kz.on('error', (e: KazooError) => errors.push(e));
  return { kz, errors };
}

async function responder(...args: Parameters<typeof KazooResponder.start>): Promise<KazooResponder> {
  const r = await KazooResponder.start(...args);
  responders.push(r);
  return r;
}

/** A query_user_channels_req like a SIP server sends, with the responder's control fields. */
function request(token: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'Event-Category': 'call_event',
    'Event-Name': 'query_user_channels_req',
    Realm: 'example.com',
    Username: '1000',
    Token: token,
    ...extra,
  };
}

/** The settled rejection of `p` (fails the test if `p` resolves). */
async function rejection(p: Promise<unknown>): Promise<KazooError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(KazooError);
    return e as KazooError;
  }
  throw new Error('expected the promise to reject, it resolved');
}

/** Runs `fn`, returning its settled value/rejection and the wall time it took from the call. */
async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; end: number; value?: T; error?: KazooError }> {
  const t0 = performance.now();
  try {
    const value = await fn();
    const end = performance.now();
    return { ms: end - t0, end, value };
  } catch (e) {
    const end = performance.now();
    return { ms: end - t0, end, error: e as KazooError };
  }
}

/** `"AMQP-Received": <n>` of a payload, checked to be a whole number of seconds near now. */
function amqpReceived(payload: string, notBeforeMs: number): number {
  const m = /"AMQP-Received": (-?\d+)[,\s]/.exec(payload);
  expect(m).not.toBeNull();
  const value = Number(m![1]);
  expect(Number.isInteger(value)).toBe(true);
  expect(value).toBeGreaterThanOrEqual(Math.floor(notBeforeMs / 1000) - 2);
  expect(value).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 2);
  return value;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('query()', () => {
  test('sends the request as kazoo_publish does and resolves with the reply from the targeted exchange', async () => {
    const { kz, errors } = await client();
    const r = await responder();
    const token = randomUUID();

    const reply = await kz.query(r.exchange, 'rpc.user.channels', request(token), { headers: 'X-Test=1;X-Other=two' });

    const req = r.requestFor(token)!;
    expect(req).toBeDefined();
    expect(req.routingKey).toBe('rpc.user.channels');
    expect(req.contentType).toBe('application/json');
    expect(req.headers).toEqual({ 'X-Test': '1', 'X-Other': 'two' });
    const node = kz.config.node_hostname;
    expect(req.body['Server-ID']).toMatch(new RegExp(`^kamailio@${node.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-<1>-targeted-\\d+$`));
    expect(req.body['Msg-ID']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(req.body.Node).toBe(`kamailio@${node}`);

    expect(reply.routingKey).toBe(req.body['Server-ID']);
    expect(reply.json('Token')).toBe(token);
    expect(reply.json('Msg-ID')).toBe(req.body['Msg-ID']);
    expect(reply.json('Server-ID')).toBe(`consumer://1/${RESPONDER_SERVER_ID}`);
    expect(reply.data.Token).toBe(token);
    expect(reply.elapsedMs).toBeGreaterThanOrEqual(0);
    expect(reply.elapsedMs).toBeLessThan(10_000);
    expect(errors).toEqual([]);
    expect(r.errors).toEqual([]);
  });

  test('resolves 10,000 concurrent queries on one client, each to its own reply, when replies come back reordered', async () => {
    const { kz, errors } = await client();
    const r = await responder({ reorderBatch: 100, reorderFlushMs: 20 });
    const N = 10_000;
    const run = randomUUID().slice(0, 8);
    const tokens = Array.from({ length: N }, (_, i) => `${run}-${i}`);
    const completionOrder: number[] = [];

    const replies = await Promise.all(
      tokens.map((token, i) =>
        kz.query(r.exchange, 'rpc.user.channels', request(token, { Mode: 'reorder' }), { timeoutMs: 40_000 }).then((reply) => {
          completionOrder.push(i);
          return reply;
        }),
      ),
    );

    expect(r.requests.length).toBe(N);
    const byToken = new Map(r.requests.map((q) => [q.body.Token as string, q]));
    expect(byToken.size).toBe(N);
    const mismatches: string[] = [];
    replies.forEach((reply, i) => {
      const req = byToken.get(tokens[i]);
      const got = reply.json('Token');
      if (!req || got !== tokens[i] || reply.json('Msg-ID') !== req.body['Msg-ID'] || reply.routingKey !== req.body['Server-ID']) {
        mismatches.push(`query ${i}: token ${tokens[i]} got reply with token ${String(got)}`);
      }
    });
    expect(mismatches.slice(0, 10)).toEqual([]);
    // The replies really were out of order, on the wire and at resolution.
    expect(r.reorderedBatches).toBeGreaterThan(0);
    let inversions = 0;
    for (let i = 1; i < completionOrder.length; i++) if (completionOrder[i] < completionOrder[i - 1]) inversions++;
    expect(inversions).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    expect(r.errors).toEqual([]);
  });

  test('rejects QUERY_TIMEOUT within 10% of timeoutMs when no reply comes, without holding up answered queries', async () => {
    const { kz, errors } = await client();
    const r = await responder();
    const timeouts = [300, 500, 1000];

    const pending = timeouts.map((timeoutMs) =>
      timed(() => kz.query(r.exchange, 'rpc.never', request(randomUUID(), { Mode: 'never' }), { timeoutMs })),
    );
    const answered = await timed(() => kz.query(r.exchange, 'rpc.echo', request('answered'), { timeoutMs: 5000 }));
    const results = await Promise.all(pending);

    expect(answered.error).toBeUndefined();
    expect(answered.value!.json('Token')).toBe('answered');
    // Answered while the unanswered ones were still waiting (no head-of-line blocking).
    expect(answered.end).toBeLessThan(results[results.length - 1].end);
    results.forEach(({ ms, error }, i) => {
      const timeoutMs = timeouts[i];
      expect(error).toBeInstanceOf(KazooError);
      expect(error!.code).toBe('QUERY_TIMEOUT');
      expect(error!.details.exchange).toBe(r.exchange);
      expect(error!.details.routingKey).toBe('rpc.never');
      const elapsed = error!.details.elapsedMs as number;
      expect(typeof elapsed).toBe('number');
      expect(elapsed).toBeGreaterThanOrEqual(timeoutMs);
      expect(elapsed).toBeLessThanOrEqual(1.1 * timeoutMs + 50);
      // Wall clock from the call: the 1 ms slack covers timer-resolution rounding only.
      expect(ms).toBeGreaterThanOrEqual(timeoutMs - 1);
      expect(ms).toBeLessThanOrEqual(1.1 * timeoutMs + 50);
    });
    expect(errors).toEqual([]);
  });

  test('uses amqp_query_timeout_sec/_micro when options.timeoutMs is not given', async () => {
    const { kz } = await client({ amqp_query_timeout_sec: 0, amqp_query_timeout_micro: 400_000 });
    const r = await responder();

    const { ms, error } = await timed(() => kz.query(r.exchange, 'rpc.never', request(randomUUID(), { Mode: 'never' })));

    expect(error?.code).toBe('QUERY_TIMEOUT');
    expect(error!.details.elapsedMs).toBeGreaterThanOrEqual(400);
    expect(ms).toBeGreaterThanOrEqual(399);
    expect(ms).toBeLessThanOrEqual(1.1 * 400 + 50);
  });

  test('delivers a late reply as a consumer event through the event-route fallback', async () => {
    const { kz, errors } = await client({ query_late_replies: 'deliver' });
    const r = await responder();
    const events: KazooEvent[] = [];
    kz.eventRoute(LATE_ROUTE, (ev) => {
      events.push(ev);
    });
    const token = randomUUID();
    const before = Date.now();

    const error = await rejection(kz.query(r.exchange, 'rpc.late', request(token, { Mode: 'late', 'Delay-Ms': 600 }), { timeoutMs: 200 }));
    expect(error.code).toBe('QUERY_TIMEOUT');

    const req = r.requestFor(token)!;
    const ev = (await waitFor(() => events.find((e) => e.json('Token') === token), 10_000, 'the late reply event'))!;
    expect(ev.name).toBe(LATE_ROUTE);
    expect(ev.routingKey).toBe(req.body['Server-ID']);
    expect(ev.exchange).toBe('targeted');
    expect(ev.json('Msg-ID')).toBe(req.body['Msg-ID']);
    expect(ev.json('AMQP-Broker-Zone')).toBe('local');
    amqpReceived(ev.payload, before);
    expect(ev.json('Server-ID')).toBe(`consumer://1/${RESPONDER_SERVER_ID}`);
    expect(ev.payload.endsWith(`"Server-ID": "consumer:\\/\\/1\\/${RESPONDER_SERVER_ID}" }`)).toBe(true);
    expect(events).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  test('falls back to kazoo:consumer-event for a late reply when no more specific route exists', async () => {
    const { kz, errors } = await client({ query_late_replies: 'deliver' });
    const r = await responder();
    const events: KazooEvent[] = [];
    kz.eventRoute('kazoo:consumer-event', (ev) => {
      events.push(ev);
    });
    const token = randomUUID();

    const error = await rejection(kz.query(r.exchange, 'rpc.late', request(token, { Mode: 'late', 'Delay-Ms': 500 }), { timeoutMs: 150 }));
    expect(error.code).toBe('QUERY_TIMEOUT');

    const ev = (await waitFor(() => events.find((e) => e.json('Token') === token), 10_000, 'the late reply event'))!;
    expect(ev.name).toBe('kazoo:consumer-event');
    expect(errors).toEqual([]);
  });

  test('reports a late reply no event route handles as NO_ROUTE', async () => {
    const { kz, errors } = await client({ query_late_replies: 'deliver' });
    const r = await responder();
    const token = randomUUID();

    const error = await rejection(kz.query(r.exchange, 'rpc.late', request(token, { Mode: 'late', 'Delay-Ms': 500 }), { timeoutMs: 150 }));
    expect(error.code).toBe('QUERY_TIMEOUT');

    const req = r.requestFor(token)!;
    const noRoute = (await waitFor(() => errors.find((e) => e.code === 'NO_ROUTE'), 10_000, 'a NO_ROUTE error'))!;
    expect(noRoute.details.routingKey).toBe(req.body['Server-ID']);
    expect(noRoute.message).toContain(LATE_ROUTE);
  });

  test("drops a late reply with query_late_replies: 'drop'", async () => {
    const { kz, errors } = await client({ query_late_replies: 'drop' });
    const r = await responder();
    const events: KazooEvent[] = [];
    kz.eventRoute(LATE_ROUTE, (ev) => {
      events.push(ev);
    });
    kz.eventRoute('kazoo:consumer-event', (ev) => {
      events.push(ev);
    });
    const token = randomUUID();

    const error = await rejection(kz.query(r.exchange, 'rpc.late', request(token, { Mode: 'late', 'Delay-Ms': 400 }), { timeoutMs: 150 }));
    expect(error.code).toBe('QUERY_TIMEOUT');

    // Once the late reply is on the broker, a second query is answered with the same routing
    // key, so its reply queues up behind the late one: when it resolves, the late reply has been
    // consumed (whatever the reply-queue layout).
    const late = await r.repliedTo(token);
    const next = await kz.query(r.exchange, 'rpc.echo', request('after', { 'Reply-Key': late.routingKey }), { timeoutMs: 5000 });
    expect(next.json('Token')).toBe('after');
    expect(next.routingKey).toBe(late.routingKey);
    // Given time to reach JS, the late reply never became an event or an error.
    await sleep(300);
    expect(events).toEqual([]);
    expect(errors).toEqual([]);
  });

  test('correlates on a caller-supplied Msg-ID (the module times out here)', async () => {
    const { kz, errors } = await client();
    const r = await responder();
    const msgId = randomUUID();
    const token = randomUUID();

    const reply = await kz.query(r.exchange, 'rpc.echo', JSON.stringify(request(token, { 'Msg-ID': msgId })), { timeoutMs: 5000 });

    const req = r.requestFor(token)!;
    expect(req.body['Msg-ID']).toBe(msgId);
    expect((req.raw.match(/"Msg-ID"/g) ?? []).length).toBe(1);
    expect(reply.json('Msg-ID')).toBe(msgId);
    expect(reply.json('Token')).toBe(token);
    expect(errors).toEqual([]);
  });

  test.each([
    ['empty', '""'],
    ['null', 'null'],
  ])('does not wait out the timeout on a caller-supplied %s Msg-ID', async (_what, msgIdJson) => {
    // Either it is correlated like any other Msg-ID, or it is refused at once with nothing sent;
    // it must not be sent and then left unmatchable until the timeout (what the module does).
    const { kz } = await client();
    const r = await responder();
    const timeoutMs = 1500;

    const { ms, value, error } = await timed(() =>
      kz.query(r.exchange, 'rpc.echo', `{"Msg-ID": ${msgIdJson}, "Token": "t"}`, { timeoutMs }),
    );

    if (error) {
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(ms).toBeLessThan(timeoutMs / 2);
      await sleep(200);
      expect(r.requests).toHaveLength(0);
    } else {
      expect(value!.json('Token')).toBe('t');
      expect(ms).toBeLessThan(timeoutMs / 2);
    }
  });

  test('correlates caller-supplied Msg-IDs of many concurrent queries answered out of order', async () => {
    const { kz, errors } = await client();
    const r = await responder({ reorderBatch: 20 });
    const ids = Array.from({ length: 200 }, () => randomUUID());

    const replies = await Promise.all(
      ids.map((msgId) => kz.query(r.exchange, 'rpc.reorder', request(msgId, { 'Msg-ID': msgId, Mode: 'reorder' }), { timeoutMs: 10_000 })),
    );

    replies.forEach((reply, i) => {
      expect(reply.json('Msg-ID')).toBe(ids[i]);
      expect(reply.json('Token')).toBe(ids[i]);
    });
    expect(errors).toEqual([]);
  });

  test('close() with 1,000 pending queries rejects them all with CLOSED', async () => {
    const { kz } = await client();
    const r = await responder();
    const settle = (p: Promise<KazooReply>) =>
      p.then(
        () => 'resolved' as const,
        (e: unknown) => (e instanceof KazooError ? e.code : String(e)),
      );

    const inFlight = Array.from({ length: 1000 }, (_, i) =>
      settle(kz.query(r.exchange, 'rpc.never', request(`c-${i}`, { Mode: 'never' }), { timeoutMs: 30_000 })),
    );
    await r.waitForRequests(1000);
    // A few more that may not even have reached the broker when close() starts.
    const justSent = Array.from({ length: 50 }, (_, i) =>
      settle(kz.query(r.exchange, 'rpc.never', request(`d-${i}`, { Mode: 'never' }), { timeoutMs: 30_000 })),
    );
    const { ms } = await timed(() => kz.close());
    const outcomes = await Promise.all([...inFlight, ...justSent]);

    const counts: Record<string, number> = {};
    for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
    expect(counts).toEqual({ CLOSED: 1050 });
    expect(ms).toBeLessThan(10_000);
  });

  describe('reply payload is byte-identical to the module $kzR', () => {
    /** Queries the responder so it answers with exactly `replyRaw`; returns the reply and the request. */
    async function replyTo(replyRaw: string) {
      const { kz, errors } = await client();
      const r = await responder();
      const token = randomUUID();
      const before = Date.now();
      const reply = await kz.query(r.exchange, 'rpc.raw', request(token, { 'Reply-Raw': replyRaw }), { timeoutMs: 5000 });
      const req = r.requestFor(token)!;
      expect(reply.routingKey).toBe(req.body['Server-ID']);
      expect(errors).toEqual([]);
      return { reply, received: amqpReceived(reply.payload, before), msgId: req.body['Msg-ID'] as string };
    }

    test('for the module\'s example reply (Server-ID rewritten and moved last, / escaped; docs/module-behaviour.md#delivery-rewrite)', async () => {
      // As an Erlang Kazoo app (jsx) sends it: compact, Server-ID among the other fields.
      const raw =
        '{"Event-Category":"call_event","Event-Name":"query_user_channels_resp","Msg-ID":"{{MSG_ID}}",' +
        '"Server-ID":"ecallmgr@fs1-<0.123.0>","Channels":[{"switch_url":"sip:mod_sofia@10.0.0.5:11000"}],' +
        '"App-Name":"ecallmgr","App-Version":"4.3.0","Node":"ecallmgr@fs1"}';

      const { reply, received, msgId } = await replyTo(raw);

      expect(reply.payload).toBe(
        `{ "Event-Category": "call_event", "Event-Name": "query_user_channels_resp", "Msg-ID": "${msgId}", ` +
          '"Channels": [ { "switch_url": "sip:mod_sofia@10.0.0.5:11000" } ], "App-Name": "ecallmgr", "App-Version": "4.3.0", ' +
          `"Node": "ecallmgr@fs1", "AMQP-Broker-Zone": "local", "AMQP-Received": ${received}, ` +
          '"Server-ID": "consumer:\\/\\/1\\/ecallmgr@fs1-<0.123.0>" }',
      );
      expect(reply.json('Server-ID')).toBe('consumer://1/ecallmgr@fs1-<0.123.0>');
    });

    test('with json-c string escaping, raw UTF-8, number texts, literals and empty containers', async () => {
      const raw =
        '{"Msg-ID":"{{MSG_ID}}","Url":"http://x/y","Ctl":"a\\u0001b\\u001fc","Esc":"q\\"b\\\\n\\nt\\tr\\rbs\\bff\\f",' +
        '"Uni":"\\u00e9t\\u00e9 \u2603 \ud83d\ude00","Num":[0,-12,9007199254740993,1.50,2.5e3,-0.0],' +
        '"Lit":[true,false,null],"E":{},"A":[],"Nest":{"a/b":{"c":[{}]}},"Server-ID":"app@h/1"}';

      const { reply, received, msgId } = await replyTo(raw);

      expect(reply.payload).toBe(
        `{ "Msg-ID": "${msgId}", "Url": "http:\\/\\/x\\/y", "Ctl": "a\\u0001b\\u001fc", ` +
          '"Esc": "q\\"b\\\\n\\nt\\tr\\rbs\\bff\\f", "Uni": "\u00e9t\u00e9 \u2603 \ud83d\ude00", ' +
          '"Num": [ 0, -12, 9007199254740993, 1.50, 2.5e3, -0.0 ], "Lit": [ true, false, null ], "E": { }, "A": [ ], ' +
          '"Nest": { "a\\/b": { "c": [ { } ] } }, ' +
          `"AMQP-Broker-Zone": "local", "AMQP-Received": ${received}, "Server-ID": "consumer:\\/\\/1\\/app@h\\/1" }`,
      );
    });

    test('replacing AMQP-Broker-Zone and AMQP-Received in place and keeping the last of duplicate keys at the first position', async () => {
      const raw =
        '{"AMQP-Received":1,"Msg-ID":"{{MSG_ID}}","Dup":"first","AMQP-Broker-Zone":"remote","Server-ID":"a@b","Dup":"last","Tail":1}';

      const { reply, received, msgId } = await replyTo(raw);

      expect(reply.payload).toBe(
        `{ "AMQP-Received": ${received}, "Msg-ID": "${msgId}", "Dup": "last", "AMQP-Broker-Zone": "local", "Tail": 1, ` +
          '"Server-ID": "consumer:\\/\\/1\\/a@b" }',
      );
    });

    test('removing an empty Server-ID and adding none when the reply has none', async () => {
      const empty = await replyTo('{"Msg-ID":"{{MSG_ID}}","Server-ID":"","X":1}');
      expect(empty.reply.payload).toBe(
        `{ "Msg-ID": "${empty.msgId}", "X": 1, "AMQP-Broker-Zone": "local", "AMQP-Received": ${empty.received} }`,
      );
      const none = await replyTo('{"X":1,"Msg-ID":"{{MSG_ID}}"}');
      expect(none.reply.payload).toBe(
        `{ "X": 1, "Msg-ID": "${none.msgId}", "AMQP-Broker-Zone": "local", "AMQP-Received": ${none.received} }`,
      );
    });

    test('rewriting a Server-ID far longer than the module 100-byte buffer', async () => {
      const long = `ecallmgr@${'very-long-hostname.'.repeat(20)}example.com-<0.12345.678>`;
      const { reply, received, msgId } = await replyTo(`{"Msg-ID":"{{MSG_ID}}","Server-ID":"${long}"}`);
      expect(reply.payload).toBe(
        `{ "Msg-ID": "${msgId}", "AMQP-Broker-Zone": "local", "AMQP-Received": ${received}, "Server-ID": "consumer:\\/\\/1\\/${long}" }`,
      );
      expect(reply.json('Server-ID')).toBe(`consumer://1/${long}`);
    });
  });

  describe('rejects at once, without waiting for the timeout', () => {
    test('NOT_CONNECTED before connect()', async () => {
      const kz = new Kazoo({ node_hostname: `${uniqueName('node')}.test`, amqp_connection: AMQP_URL });
      clients.push(kz);
      const { ms, error } = await timed(() => kz.query('targeted', 'x', request('x'), { timeoutMs: 5000 }));
      expect(error).toBeInstanceOf(KazooError);
      expect(error!.code).toBe('NOT_CONNECTED');
      expect(ms).toBeLessThan(1000);
    });

    test('NOT_CONNECTED after close()', async () => {
      const { kz } = await client();
      const r = await responder();
      await kz.close();
      const { ms, error } = await timed(() => kz.query(r.exchange, 'rpc.echo', request('x'), { timeoutMs: 5000 }));
      expect(error).toBeInstanceOf(KazooError);
      expect(error!.code).toBe('NOT_CONNECTED');
      expect(ms).toBeLessThan(1000);
      expect(r.requests).toHaveLength(0);
    });

    test('BROKER_REFUSED with replyCode 404 for an exchange that does not exist, and the client keeps working', async () => {
      const { kz } = await client();
      const r = await responder();
      const missing = uniqueName('missing-x');

      const { ms, error } = await timed(() => kz.query(missing, 'rpc.echo', request('x'), { timeoutMs: 10_000 }));

      expect(error).toBeInstanceOf(KazooError);
      expect(error!.code).toBe('BROKER_REFUSED');
      expect(error!.details.replyCode).toBe(404);
      expect(error!.details.exchange).toBe(missing);
      expect(ms).toBeLessThan(3000);

      const reply = await kz.query(r.exchange, 'rpc.echo', request('after'), { timeoutMs: 5000 });
      expect(reply.json('Token')).toBe('after');
    });
  });

  test('bad input rejects with the right code and sends nothing', async () => {
    const { kz, errors } = await client();
    const r = await responder();
    const ex = r.exchange;
    const call = (f: () => Promise<unknown>) => timed(f);

    const badJson = await call(() => kz.query(ex, 'rpc', '{"Event-Category": "x", Mode: "echo"}'));
    expect(badJson.error?.code).toBe('INVALID_JSON');
    expect(typeof badJson.error!.details.position).toBe('number');
    for (const text of ['', 'not json', '{"a": ']) {
      expect((await call(() => kz.query(ex, 'rpc', text))).error?.code).toBe('INVALID_JSON');
    }
    expect((await call(() => kz.query(ex, 'rpc', '[1, 2]'))).error?.code).toBe('INVALID_JSON');

    expect((await call(() => kz.query(ex, 'a'.repeat(256), request('x')))).error?.code).toBe('ROUTING_KEY_TOO_LONG');
    expect((await call(() => kz.query(ex, '\u00e9'.repeat(128), request('x')))).error?.code).toBe('ROUTING_KEY_TOO_LONG');
    expect((await call(() => kz.query('x'.repeat(256), 'rpc', request('x')))).error?.code).toBe('EXCHANGE_NAME_TOO_LONG');

    for (const timeoutMs of [0, -5, 1.5, NaN, Infinity, 86_400_001, '500' as unknown as number]) {
      const { error } = await call(() => kz.query(ex, 'rpc', request('x'), { timeoutMs }));
      expect([timeoutMs, error?.code, error?.details.param]).toEqual([timeoutMs, 'INVALID_ARGUMENT', 'options.timeoutMs']);
    }
    for (const payload of [[1], null, 42, undefined]) {
      const { error } = await call(() => kz.query(ex, 'rpc', payload as unknown as object));
      expect([payload, error?.code]).toEqual([payload, 'INVALID_ARGUMENT']);
    }
    expect((await call(() => kz.query(1 as unknown as string, 'rpc', request('x')))).error?.code).toBe('INVALID_ARGUMENT');
    expect((await call(() => kz.query(ex, {} as unknown as string, request('x')))).error?.code).toBe('INVALID_ARGUMENT');

    // A 255-byte routing key is fine; it is the only request the responder ever sees.
    const ok = await kz.query(ex, 'k'.repeat(255), request('good'), { timeoutMs: 5000 });
    expect(ok.json('Token')).toBe('good');
    await sleep(100);
    expect(r.requests.map((q) => [q.body.Token, q.routingKey.length])).toEqual([['good', 255]]);
    expect(errors).toEqual([]);
  });
});
