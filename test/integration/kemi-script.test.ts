/**
 * The programmatic entry (lib/kemi): a module-style script run in-process with KemiScript; a
 * script exception is a failed handler, so a no_ack: 0 binding's nack rules apply.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kazoo, KazooError } from '../../lib';
import { KemiScript, type KemiLogger } from '../../lib/kemi';
import { AMQP_URL, openObserver, uniqueName, waitFor } from '../support/broker';

let dir: string;
let kazoo: Kazoo | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kazoo-kemi-script-'));
});

afterEach(async () => {
  await kazoo?.close();
  kazoo = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function memoryLogger(): KemiLogger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (m: string) => void lines.push(`${level} ${m}`);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('KemiScript', () => {
  it('runs a module-style script; a throwing call is nacked and requeued once (requeue_on_error)', async () => {
    const exchange = uniqueName('ks-x');
    const queue = uniqueName('ks-q');
    const file = join(dir, 'handlers.js');
    writeFileSync(
      file,
      `module.exports.on_event = function (evname) {
  if (evname === 'kazoo:mod-init') {
    KSR.kazoo.kazoo_subscribe(JSON.stringify({ exchange: '${exchange}', type: 'topic', queue: '${queue}', routing: 'ks.#',
      auto_delete: 1, no_ack: 0, wait_for_consumer_ack: 1, requeue_on_error: 1 }));
    return;
  }
  if (KSR.pv.get('$(kzE{kz.json,Event-Category})') !== 'ks') return;
  var n = (KSR.pv.get('$shv(calls)') || 0) + 1;
  KSR.pv.seti('$shv(calls)', n);
  KSR.info('call ' + n + ' on ' + KSR.pv.get('$kzRK'));
  if (n === 1) throw new Error('first attempt fails');
};
`,
    );
    kazoo = new Kazoo({ node_hostname: `${uniqueName('ks')}.test`, amqp_connection: AMQP_URL, event_callback: 'on_event' });
    const errors: KazooError[] = [];
    kazoo.on('error', (e: KazooError) => errors.push(e));
    const logger = memoryLogger();
    const script = new KemiScript(kazoo, file, { logger }).attach();
    await kazoo.connect();
    const { connection, channel } = await openObserver();
    try {
      channel.publish(exchange, 'ks.1', Buffer.from('{"Event-Category":"ks","Event-Name":"x"}'));
      await waitFor(() => logger.lines.includes('info call 2 on ks.1'), 10_000, 'the redelivery');
    } finally {
      await connection.close();
    }
    expect(logger.lines.filter((l) => l.startsWith('info call'))).toEqual(['info call 1 on ks.1', 'info call 2 on ks.1']);
    expect(errors).toHaveLength(1);
    expect(errors[0].code).toBe('HANDLER_FAILED');
    expect(errors[0].message).toContain(`${file}:11: on_event() threw Error: first attempt fails`);
    await script.idle();
  });

  it('refuses a script without the event function, and locates top-level errors', () => {
    kazoo = new Kazoo({ node_hostname: `${uniqueName('ks')}.test`, amqp_connection: AMQP_URL });
    const none = join(dir, 'none.js');
    writeFileSync(none, 'function other() {}\n');
    expect(() => new KemiScript(kazoo as Kazoo, none).attach()).toThrow(/event_callback must name a function of .*none\.js, got "ksr_kazoo_event"/);
    const broken = join(dir, 'broken.js');
    writeFileSync(broken, '// line 1\nvar x = KSR.pv.get("$(kzE{kz.bogus})");\n');
    expect(() => new KemiScript(kazoo as Kazoo, broken)).toThrow(/broken\.js:2: \(top level\)\(\) threw KazooError: kazoo: unknown transformation \{kz\.bogus\}/);
  });

  it("writes KSR.info/err through the client's logger option, or a given logger, never with a password", () => {
    const password = 'Kemi-s3cret-pw';
    const url = `amqp://someone:${password}@127.0.0.1:1`;
    const file = join(dir, 'logs.js');
    writeFileSync(file, `function ksr_kazoo_event() {}\nKSR.info('login ${url}');\nKSR.err('password was ${password}');\nKSR.dbg('debug line');\n`);
    // The client has a logger option: the script writes through kazoo.logger (the redacting sink).
    const clientLogger = memoryLogger();
    kazoo = new Kazoo({ node_hostname: `${uniqueName('ks')}.test`, amqp_connection: url, logger: clientLogger });
    new KemiScript(kazoo, file).attach();
    expect(clientLogger.lines).toEqual(['info login amqp://***@127.0.0.1:1', 'error password was ***', 'debug debug line']);
    // A logger given to KemiScript is used instead, behind the same redaction.
    const given = memoryLogger();
    new KemiScript(kazoo, file, { logger: given });
    expect(given.lines).toEqual(['info login amqp://***@127.0.0.1:1', 'error password was ***', 'debug debug line']);
    expect(clientLogger.lines).toHaveLength(3);
  });

  it('defaults to console behind the redaction when the client has no logger option', () => {
    const password = 'Kemi-s3cret-pw';
    const file = join(dir, 'logs.js');
    writeFileSync(file, `function ksr_kazoo_event() {}\nKSR.info('password ${password}');\n`);
    kazoo = new Kazoo({ node_hostname: `${uniqueName('ks')}.test`, amqp_connection: `amqp://someone:${password}@127.0.0.1:1` });
    const info = jest.spyOn(console, 'info').mockImplementation(() => undefined);
    try {
      new KemiScript(kazoo, file);
      expect(info.mock.calls).toEqual([['password ***']]);
    } finally {
      info.mockRestore();
    }
  });
});
