import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Kazoo, KazooError, type KazooEvent } from '../../lib';
import { connectedKazoo } from '../support/broker';
import { KazooResponder } from '../support/kazoo-responder';

let kz: Kazoo; let r: KazooResponder; const errors: unknown[] = [];
beforeEach(async () => { kz = await connectedKazoo({ query_late_replies: 'deliver' }); kz.on('error', (e) => errors.push(e)); r = await KazooResponder.start(); errors.length = 0; });
afterEach(async () => { await kz.close(); await r.stop(); });
const settle = (p: Promise<unknown>) => p.then((v) => 'ok', (e: KazooError) => e.code);

test('drop technique in deliver mode sees the event', async () => {
  const events: KazooEvent[] = [];
  kz.eventRoute('kazoo:consumer-event', (ev) => { events.push(ev); });
  const token = randomUUID();
  await settle(kz.query(r.exchange, 'x', { Token: token, Mode: 'late', 'Delay-Ms': 400, 'Event-Category': 'call_event', 'Event-Name': 'query_user_channels_resp' }, { timeoutMs: 150 }));
  const late = await r.repliedTo(token);
  await kz.query(r.exchange, 'x', { Token: 'after', 'Reply-Key': late.routingKey }, { timeoutMs: 5000 });
  await new Promise((res) => setTimeout(res, 300));
  console.log('events', events.length, errors);
});

test.each([['12345','12345'],['12345','"12345"'],['1.50','1.50'],['true','true']])('numeric Msg-ID %s reply %s', async (q, rep) => {
  const out = await kz.query(r.exchange, 'x', `{"Msg-ID": ${q}, "Token":"n", "Reply-Raw": "{\\"Msg-ID\\": ${rep.replace(/"/g,'\\"')}, \\"Token\\": \\"n\\"}"}`, { timeoutMs: 1000 }).then((v) => v.payload, (e) => e.code + ' ' + e.message);
  console.log('msgid', q, rep, out, r.errors.map(String));
});
test.skip('numeric Msg-ID old', async () => {
  const out = await kz.query(r.exchange, 'x', '{"Msg-ID": 12345, "Token":"n", "Reply-Raw": "{\\"Msg-ID\\": 12345, \\"Token\\": \\"n\\"}"}', { timeoutMs: 1000 }).then((v) => v.payload, (e) => e.code + ' ' + e.message);
  console.log('numeric', out, r.requests.map((q) => q.raw), r.errors.map(String));
});

test('duplicate pending Msg-ID', async () => {
  const id = randomUUID();
  const a = settle(kz.query(r.exchange, 'x', { 'Msg-ID': id, Token: 'a', Mode: 'late', 'Delay-Ms': 200 }, { timeoutMs: 3000 }));
  const b = settle(kz.query(r.exchange, 'x', { 'Msg-ID': id, Token: 'b', Mode: 'never' }, { timeoutMs: 3000 }));
  console.log('dup', await a, await b, r.requests.length);
});

test('many timeouts at once', async () => {
  const N = 3000;
  const res = await Promise.all(Array.from({ length: N }, (_, i) => { const t0 = performance.now(); return kz.query(r.exchange, 'x', { Token: `${i}`, Mode: 'never' }, { timeoutMs: 500 }).then(() => null, (e: KazooError) => [e.code, e.details.elapsedMs as number, performance.now() - t0] as const); }));
  const el = res.map((x) => x![1]); const wall = res.map((x) => x![2]);
  console.log('many', new Set(res.map((x) => x![0])), Math.min(...el), Math.max(...el), Math.min(...wall), Math.max(...wall));
});

test('large request and reply', async () => {
  const big = 'x'.repeat(600_000);
  const rep = await kz.query(r.exchange, 'x', { Token: 'big', Big: big, 'Reply-Raw': JSON.stringify({ 'Msg-ID': '{{MSG_ID}}', Big: big, 'Server-ID': 'a/b' }) }, { timeoutMs: 10000 });
  console.log('big', rep.payload.length, rep.json('Big')?.length, r.requests[0].raw.length);
});

test('404 interleaved with good queries', async () => {
  const ps: Promise<string>[] = [];
  for (let i = 0; i < 300; i++) {
    ps.push(settle(kz.query(i % 50 === 25 ? 'kz-test-missing-' + randomUUID() : r.exchange, 'x', { Token: `${i}` }, { timeoutMs: 4000 })));
  }
  const out = await Promise.all(ps);
  const counts: Record<string, number> = {}; for (const o of out) counts[o] = (counts[o] ?? 0) + 1;
  console.log('404mix', counts, errors.map(String));
  const after = await settle(kz.query(r.exchange, 'x', { Token: 'after' }, { timeoutMs: 4000 }));
  console.log('after', after);
});
