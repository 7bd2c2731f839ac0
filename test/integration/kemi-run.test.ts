/**
 * `kazoo-amqp run` as a new user runs it (issue 11 "Done when"): a child process on a cfg that
 * sets node_hostname through #!define, names the callback through #!substdef and pulls
 * amqp_connection from an include_file, and an app_jsdt-style script that subscribes in
 * mod-init, republishes $kzE, answers a synchronous kazoo_query from $kzR, and publishes
 * kazoo_encode / kazoo_json / {kz.json.count} / $kzRK results; SIGTERM ends it within 5 s.
 * Runs dist/ (npm test builds it first).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as amqplib from 'amqplib';
import { AMQP_URL, deleteEntities, openObserver, uniqueName, waitFor } from '../support/broker';
import { KazooResponder } from '../support/kazoo-responder';
import { requireBuiltCli, startCli, type CliRun } from '../support/cli-run';



let dir: string;
let observer: { connection: amqplib.ChannelModel; channel: amqplib.Channel };
const queues = new Set<string>();
const exchanges = new Set<string>();
let runs: CliRun[] = [];
let responders: KazooResponder[] = [];

beforeAll(async () => {
  requireBuiltCli();
  observer = await openObserver();
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kazoo-kemi-'));
});

afterEach(async () => {
  for (const r of runs) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  runs = [];
  await Promise.allSettled(responders.map((r) => r.stop()));
  responders = [];
  await deleteEntities(observer.connection, queues, exchanges);
  rmSync(dir, { recursive: true, force: true });
});

afterAll(async () => {
  await observer.connection.close();
});

describe('kazoo-amqp run', () => {
  it('runs the Done-when scenario end to end and exits 0 within 5 s of SIGTERM', async () => {
    const node = `${uniqueName('kemi')}.test`;
    const inX = uniqueName('kemi-in');
    const inQ = uniqueName('kemi-inq');
    const outX = uniqueName('kemi-out');
    const outQ = uniqueName('kemi-outq');
    exchanges.add(inX).add(outX);
    queues.add(inQ).add(outQ);
    await observer.channel.assertExchange(outX, 'topic', { durable: false });
    await observer.channel.assertQueue(outQ, { durable: false });
    await observer.channel.bindQueue(outQ, outX, '#');
    const responder = await KazooResponder.start();
    responders.push(responder);
    exchanges.add(responder.exchange);

    writeFileSync(join(dir, 'amqp.cfg'), `# the broker\nmodparam("kazoo", "amqp_connection", "${AMQP_URL}")\n`);
    writeFileSync(
      join(dir, 'kamailio.cfg'),
      [
        '#!KAMAILIO',
        `#!define MY_NODE "${node}"`,
        '#!substdef "!EVENT_FN!on_kazoo_event!g"',
        '/* kazoo module */',
        'loadmodule "kazoo.so"',
        'modparam("kazoo", "node_hostname", MY_NODE)',
        'modparam("kazoo", "event_callback", "EVENT_FN") // named through #!substdef',
        '#!ifdef WITH_AMQP_INCLUDE',
        'include_file "amqp.cfg"',
        '#!else',
        'modparam("kazoo", "amqp_connection", "amqp://nobody:nothing@127.0.0.1:1")',
        '#!endif',
        'modparam("kazoo", "amqp_query_timeout_avp", "$avp(kz_timeout)")',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'script.js'),
      `// app_jsdt-style: global functions, ES5
function on_kazoo_event(evname) {
  if (evname === 'kazoo:mod-init') {
    KSR.info('mod-init');
    KSR.kazoo.kazoo_subscribe('{"exchange":"${inX}","type":"topic","queue":"${inQ}","routing":"kemi.#","auto_delete":1}');
    return;
  }
  if (KSR.pv.get('$(kzE{kz.json,Event-Category})') !== 'bench') return;
  KSR.pv.seti('$avp(kz_timeout)', 3000);
  var q = KSR.kazoo.kazoo_query('${responder.exchange}', 'q.1', '{"Event-Category":"call_event","Event-Name":"query_user_channels_req","Token":"' + KSR.pv.get('$(kzE{kz.json,Seq})') + '"}', '$var(reply)');
  KSR.kazoo.kazoo_encode(KSR.pv.get('$(kzE{kz.json,Name})'), '$var(enc)');
  KSR.kazoo.kazoo_json(KSR.pv.get('$kzE'), 'List[1]', '$var(second)');
  var out = {
    kzE: KSR.pv.get('$(kzE{s.encode.base64})'),
    kzRK: KSR.pv.get('$kzRK'),
    queryResult: q,
    kzRToken: KSR.pv.get('$(kzR{kz.json,Token})'),
    targetSame: KSR.pv.get('$var(reply)') === KSR.pv.get('$kzR'),
    encoded: KSR.pv.get('$var(enc)'),
    trEncoded: KSR.pv.get('$(kzE{kz.json,Name}{kz.encode})'),
    second: KSR.pv.get('$var(second)'),
    count: KSR.pv.get('$(kzE{kz.json.count,List})')
  };
  var rc = KSR.kazoo.kazoo_publish('${outX}', 'kemi.result', JSON.stringify(out));
  if (rc !== 1) KSR.err('publish returned ' + rc);
}
`,
    );

    const run = startCli(['run', '--cfg', 'kamailio.cfg', '-A', 'WITH_AMQP_INCLUDE', 'script.js'], dir);
    runs.push(run);
    await waitFor(() => run.output().includes('kazoo-amqp: running'), 15_000, 'the runner to start').catch((e: Error) => {
      throw new Error(`${e.message}; output:\n${run.output()}`);
    });

    const event = '{"Event-Category":"bench","Event-Name":"echo","Seq":1,"Name":"a.b c/é","List":[1,2,3]}';
    observer.channel.publish(inX, 'kemi.abc.1', Buffer.from(event), { contentType: 'application/json' });

    let message: amqplib.GetMessage | false = false;
    await waitFor(async () => (message = await observer.channel.get(outQ, { noAck: true })), 15_000, 'the republished result').catch((e: Error) => {
      throw new Error(`${e.message}; output:\n${run.output()}`);
    });
    const body = JSON.parse((message as unknown as amqplib.GetMessage).content.toString()) as Record<string, unknown>;
    const kzE = Buffer.from(String(body.kzE), 'base64').toString();
    // What the module puts in $kzE (spec: observed on Kamailio 5.6.3): json-c spaced, zone and receive time appended.
    expect(kzE).toMatch(
      /^\{ "Event-Category": "bench", "Event-Name": "echo", "Seq": 1, "Name": "a\.b c\\\/é", "List": \[ 1, 2, 3 \], "AMQP-Broker-Zone": "local", "AMQP-Received": \d+ \}$/,
    );
    expect(body.kzRK).toBe('kemi.abc.1');
    expect(body.queryResult).toBe(1);
    expect(body.kzRToken).toBe('1');
    expect(body.targetSame).toBe(true);
    expect(body.encoded).toBe('a%2Eb+c%2F%C3%A9');
    expect(body.trEncoded).toBe(body.encoded);
    expect(body.second).toBe('2');
    expect(body.count).toBe(3);
    expect(body['Node']).toBe(`kamailio@${node}`);
    expect(responder.requests).toHaveLength(1);

    const sent = Date.now();
    run.child.kill('SIGTERM');
    const exit = await run.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - sent).toBeLessThan(5000);
    expect(run.output()).not.toMatch(/ERROR/);
  });
});
