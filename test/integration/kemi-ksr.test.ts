/**
 * Every KSR.kazoo function, PVs across events, async continuations, script failures, KSR.x.exit
 * and SIGINT, through `kazoo-amqp run` as a child process on the real broker. The script is the
 * one `modparam("app_jsdt", "load", …)` names (no script argument). Runs dist/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type * as amqplib from 'amqplib';
import { AMQP_URL, deleteEntities, openObserver, uniqueName, waitFor } from '../support/broker';
import { KazooResponder } from '../support/kazoo-responder';

const BIN = resolve(__dirname, '../../bin/kazoo-amqp.js');

let dir: string;
let observer: { connection: amqplib.ChannelModel; channel: amqplib.Channel };
const queues = new Set<string>();
const exchanges = new Set<string>();
let child: ChildProcess | undefined;
let responder: KazooResponder | undefined;

beforeAll(async () => {
  if (!existsSync(resolve(__dirname, '../../dist/lib/kemi/cli.js'))) throw new Error('dist/ is missing: run npm run build first');
  observer = await openObserver();
  dir = mkdtempSync(join(tmpdir(), 'kazoo-ksr-'));
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await responder?.stop();
  await deleteEntities(observer.connection, queues, exchanges);
  await observer.connection.close();
  rmSync(dir, { recursive: true, force: true });
});

const SCRIPT = (inX: string, inQ: string, outX: string, rpcX: string) => `
var process = require('node:process');
var OUT = '${outX}';
function emit(kind, obj) {
  obj.kind = kind;
  var rc = KSR.kazoo.kazoo_publish(OUT, 'r.' + kind, JSON.stringify(obj));
  if (rc !== 1) KSR.err('emit ' + kind + ' returned ' + rc);
}
function ev(evname) {
  if (evname === 'kazoo:mod-init') {
    // The 4-argument form.
    KSR.kazoo.kazoo_subscribe('${inX}', 'topic', '${inQ}', 'ksr.#');
    emit('init', { kzENull: KSR.pv.is_null('$kzE'), kzRKNull: KSR.pv.is_null('$kzRK') });
    return;
  }
  var cat = KSR.pv.get('$(kzE{kz.json,Event-Category})');
  var name = KSR.pv.get('$(kzE{kz.json,Event-Name})');
  if (cat === 'connection') {
    emit('conn-' + name, { kzRKNull: KSR.pv.is_null('$kzRK') });
    return;
  }
  // $var starts empty for every event.
  var stale = KSR.pv.get('$var(seen)');
  KSR.pv.sets('$var(seen)', name);
  if (name === 'lane') {
    emit('lane', { seq: KSR.pv.get('$(kzE{kz.json,Seq})'), rk: KSR.pv.get('$kzRK'), stale: stale });
  } else if (name === 'functions') {
    var e = KSR.pv.get('$kzE');
    var keysRc = KSR.kazoo.kazoo_json_keys(e, 'Obj', '$avp(keys)');
    var keys = [];
    for (var i = KSR.pv.get('$cnt($avp(keys))') - 1; i >= 0; i--) keys.push(KSR.pv.get('$(avp(keys)[' + i + '])'));
    var long = new Array(300).join('x');
    emit('functions', {
      keysRc: keysRc,
      keys: keys,
      keysNotAvp: KSR.kazoo.kazoo_json_keys(e, 'Obj', '$var(k)'),
      keysNotObject: KSR.kazoo.kazoo_json_keys(e, 'Obj.b', '$avp(k2)'),
      jsonRc: KSR.kazoo.kazoo_json(e, 'Obj.b', '$var(b)'),
      b: KSR.pv.get('$var(b)'),
      missingRc: KSR.kazoo.kazoo_json(e, 'Nope', '$var(m)'),
      missingNull: KSR.pv.is_null('$var(m)'),
      gete: KSR.pv.gete('$var(m)'),
      getw: KSR.pv.getw('$var(m)'),
      encodeRc: KSR.kazoo.kazoo_encode('a b', '$var(enc)'),
      enc: KSR.pv.get('$var(enc)'),
      encodeLong: KSR.kazoo.kazoo_encode(long, '$var(enc2)'),
      publishBadJson: KSR.kazoo.kazoo_publish(OUT, 'r.x', '{not json'),
      publishLongKey: KSR.kazoo.kazoo_publish(OUT, long, '{}'),
      subscribeBad: KSR.kazoo.kazoo_subscribe('{"exchange": 5'),
      queryBad: KSR.kazoo.kazoo_query('${rpcX}', 'q', 'nope')
    });
    KSR.kazoo.kazoo_publish(OUT, 'r.headers', '{"kind":"headers"}', 'X-A=1;X-B=two');
  } else if (name === 'sync') {
    KSR.pv.seti('$avp(kz_timeout)', 700);
    var t0 = Date.now();
    var cpu0 = process.cpuUsage();
    var rc = KSR.kazoo.kazoo_query('${rpcX}', 'q.never', '{"Event-Category":"x","Event-Name":"y","Mode":"never"}');
    var cpu = process.cpuUsage(cpu0);
    var ms = Date.now() - t0;
    var okRc = KSR.kazoo.kazoo_query('${rpcX}', 'q.echo', '{"Event-Category":"x","Event-Name":"y","Token":"t-sync"}', '$var(r)', 'X-Q=1');
    emit('sync', { rc: rc, ms: ms, cpuMs: (cpu.user + cpu.system) / 1000, okRc: okRc, token: KSR.pv.get('$(var(r){kz.json,Token})'), zone: KSR.pv.get('$(kzR{kz.json,AMQP-Broker-Zone})') });
  } else if (name === 'async') {
    KSR.pv.sets('$var(carry)', 'c1');
    var a = KSR.kazoo.kazoo_async_query('${rpcX}', 'q.a', '{"Event-Category":"x","Event-Name":"y","Token":"t-async"}', 'on_reply', 'on_error');
    KSR.pv.seti('$avp(kz_timeout)', 300);
    var b = KSR.kazoo.kazoo_query_async('${rpcX}', 'q.b', '{"Event-Category":"x","Event-Name":"y","Mode":"never"}', 'on_reply', 'on_error', 'flags-ignored');
    emit('async', { a: a, b: b });
  } else if (name === 'throw') {
    KSR.info('about to throw');
    undefinedFunction();
  } else if (name === 'exit') {
    emit('before-exit', {});
    KSR.x.exit();
    emit('after-exit', {});
  }
}
function on_reply(n) {
  emit('async-reply', { token: KSR.pv.get('$(kzR{kz.json,Token})'), carry: KSR.pv.get('$var(carry)'), arg: n, kzENull: KSR.pv.is_null('$kzE') });
}
function on_error(n) {
  emit('async-error', { kzRNull: KSR.pv.is_null('$kzR'), carry: KSR.pv.get('$var(carry)'), arg: n });
}
`;

describe('KSR in kazoo-amqp run', () => {
  it('offers every kazoo function, per-event PVs, async continuations, and survives script errors', async () => {
    const inX = uniqueName('ksr-in');
    const inQ = uniqueName('ksr-inq');
    const outX = uniqueName('ksr-out');
    const outQ = uniqueName('ksr-outq');
    exchanges.add(inX).add(outX);
    queues.add(inQ).add(outQ);
    await observer.channel.assertExchange(outX, 'topic', { durable: false });
    await observer.channel.assertQueue(outQ, { durable: false });
    await observer.channel.bindQueue(outQ, outX, '#');
    responder = await KazooResponder.start();
    exchanges.add(responder.exchange);

    writeFileSync(join(dir, 'ksr.js'), SCRIPT(inX, inQ, outX, responder.exchange));
    writeFileSync(
      join(dir, 'kamailio.cfg'),
      [
        `modparam("kazoo", "node_hostname", "${uniqueName('ksr')}.test")`,
        `modparam("kazoo", "amqp_connection", "${AMQP_URL}")`,
        'modparam("kazoo", "event_callback", "ev")',
        'modparam("kazoo", "amqp_query_timeout_avp", "$avp(kz_timeout)")',
        'loadmodule "app_jsdt.so"',
        'modparam("app_jsdt", "load", "ksr.js")',
      ].join('\n'),
    );
    child = spawn(process.execPath, [BIN, 'run', '--cfg', join(dir, 'kamailio.cfg')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<{ code: number | null; at: number }>((r) => child?.on('exit', (code) => r({ code, at: Date.now() })));
    const explain = (e: Error) => {
      throw new Error(`${e.message}; output:\n${output}`);
    };
    await waitFor(() => output.includes('kazoo-amqp: running'), 15_000, 'the runner to start').catch(explain);

    const got: Array<Record<string, unknown> & { kind: string }> = [];
    const headers: Record<string, unknown>[] = [];
    const collect = async (kind: string, count = 1) =>
      waitFor(
        async () => {
          for (;;) {
            const m = await observer.channel.get(outQ, { noAck: true });
            if (!m) break;
            const body = JSON.parse(m.content.toString()) as Record<string, unknown> & { kind: string };
            // Fields every kazoo_publish adds (checked by the publish tests).
            for (const k of ['App-Name', 'App-Version', 'Node', 'Msg-ID', 'Server-ID']) delete body[k];
            got.push(body);
            if (body.kind === 'headers') headers.push(m.properties.headers ?? {});
          }
          const matching = got.filter((b) => b.kind === kind);
          return matching.length >= count ? matching : false;
        },
        15_000,
        `${count} "${kind}" results`,
      ).catch(explain) as Promise<Array<Record<string, unknown>>>;
    const send = (name: string, extra: Record<string, unknown> = {}, key = `ksr.${name}`) =>
      observer.channel.publish(inX, key, Buffer.from(JSON.stringify({ 'Event-Category': 'ksr', 'Event-Name': name, ...extra })));

    expect(await collect('init')).toEqual([{ kind: 'init', kzENull: true, kzRKNull: true }]);
    // The producer's connection-open event reached the callback (held until mod-init ran) with a null $kzRK.
    expect((await collect('conn-open'))[0]).toEqual({ kind: 'conn-open', kzRKNull: true });

    for (let i = 0; i < 20; i++) send('lane', { Seq: i }, `ksr.lane.${i}`);
    const lanes = await collect('lane', 20);
    for (const l of lanes) {
      expect(l.rk).toBe(`ksr.lane.${l.seq}`);
      expect(l.stale).toBeNull();
    }

    // Raw text: JSON.stringify would move the integer-like key first.
    observer.channel.publish(inX, 'ksr.functions', Buffer.from('{"Event-Category":"ksr","Event-Name":"functions","Obj":{"b":"x","10":1,"a":{"c":1}}}'));
    const [f] = await collect('functions');
    expect(f).toEqual({
      kind: 'functions',
      keysRc: 1,
      keys: ['b', '10', 'a'],
      keysNotAvp: -1,
      keysNotObject: -1,
      jsonRc: 1,
      b: 'x',
      missingRc: 1,
      missingNull: true,
      gete: '',
      getw: '<null>',
      encodeRc: 1,
      enc: 'a+b',
      encodeLong: -1,
      publishBadJson: -1,
      publishLongKey: -1,
      subscribeBad: -1,
      queryBad: -1,
    });
    await collect('headers');
    expect(headers[0]).toEqual({ 'X-A': '1', 'X-B': 'two' });

    send('sync');
    const [s] = await collect('sync');
    expect(s.rc).toBe(-1);
    expect(s.ms).toBeGreaterThanOrEqual(650);
    expect(s.ms).toBeLessThan(2000);
    // Blocked on a condition variable, not spinning: far less CPU than wall time.
    expect(s.cpuMs).toBeLessThan(300);
    expect(s.okRc).toBe(1);
    expect(s.token).toBe('t-sync');
    expect(s.zone).toBe('local');
    expect(responder.requests.find((r) => r.body.Token === 't-sync')?.headers).toEqual({ 'X-Q': '1' });

    send('async');
    expect((await collect('async'))[0]).toMatchObject({ a: 0, b: 0 });
    expect((await collect('async-reply'))[0]).toEqual({ kind: 'async-reply', token: 't-async', carry: 'c1', arg: 'on_reply', kzENull: true });
    expect((await collect('async-error'))[0]).toEqual({ kind: 'async-error', kzRNull: true, carry: 'c1', arg: 'on_error' });

    send('throw');
    send('exit');
    await collect('before-exit');
    send('lane', { Seq: 99 }, 'ksr.lane.99');
    await collect('lane', 21);
    expect(got.filter((b) => b.kind === 'after-exit')).toEqual([]);
    expect(output).toMatch(new RegExp(`${join(dir, 'ksr.js').replace(/[.\\/]/g, '\\$&')}:\\d+: ev\\(\\) threw ReferenceError: undefinedFunction is not defined`));
    expect(output).toMatch(/INFO about to throw/);

    const sent = Date.now();
    child.kill('SIGINT');
    const exit = await exited;
    expect(exit.code).toBe(0);
    expect(exit.at - sent).toBeLessThan(5000);
  });
});
