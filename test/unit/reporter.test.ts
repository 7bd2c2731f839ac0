/** Listener containment (lib/client/reporter.ts) without a broker: each listener in its own try/catch. */
import { EventEmitter } from 'node:events';
import { KazooError } from '../../lib/errors';
import { emitContained, Reporter } from '../../lib/client/reporter';
import { LogSink, type KazooLogger } from '../../lib/logger';

describe('emitContained()', () => {
  it('runs every listener in order, passes each exception on, and removes once listeners', () => {
    const emitter = new EventEmitter();
    const calls: string[] = [];
    const thrown: unknown[] = [];
    emitter.on('x', (v) => calls.push(`a${v}`));
    emitter.once('x', () => {
      throw new Error('b');
    });
    emitter.on('x', (v) => calls.push(`c${v}`));
    expect(emitContained(emitter, 'x', 1, (e) => thrown.push(e))).toBe(3);
    expect(emitContained(emitter, 'x', 2, (e) => thrown.push(e))).toBe(2);
    expect(calls).toEqual(['a1', 'c1', 'a2', 'c2']);
    expect(thrown.map((e) => (e as Error).message)).toEqual(['b']);
  });
});

describe('Reporter', () => {
  afterEach(() => jest.restoreAllMocks());

  it("turns a throwing 'connection' listener into a LISTENER_FAILED 'error'", () => {
    const emitter = new EventEmitter();
    const errors: KazooError[] = [];
    emitter.on('connection', () => {
      throw new Error('boom');
    });
    emitter.on('error', (e: KazooError) => errors.push(e));
    new Reporter(emitter).connection({ event: 'open', role: 'producer', host: 'h', zone: 'local' });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'LISTENER_FAILED', message: "kazoo: a 'connection' listener threw: boom", details: { listener: 'connection', host: 'h' } });
  });

  it("warns instead of throwing without an 'error' listener, and when an 'error' listener throws", () => {
    const emitter = new EventEmitter();
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const reporter = new Reporter(emitter);
    reporter.error(new KazooError('NO_ROUTE', 'kazoo: no event route for x'));
    emitter.on('error', () => {
      throw new Error('bad listener');
    });
    reporter.error(new KazooError('NO_ROUTE', 'kazoo: no event route for y'));
    expect(warn.mock.calls).toEqual([
      ['kazoo: no event route for x', { code: 'KAZOO_NO_ROUTE', type: 'KazooWarning' }],
      ["kazoo: an 'error' listener threw: bad listener (while reporting: kazoo: no event route for y)", { code: 'KAZOO_LISTENER_FAILED', type: 'KazooWarning' }],
    ]);
  });

  it("with a logger option, reports what nobody hears to logger.error, redacted, and no process warning", () => {
    const emitter = new EventEmitter();
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const lines: Array<[string, string, unknown]> = [];
    const at = (level: string) => (message: string, fields?: unknown) => void lines.push([level, message, fields]);
    const logger: KazooLogger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    const reporter = new Reporter(emitter, new LogSink(logger, ['s3cret-pw']));
    reporter.error(new KazooError('CONNECT_FAILED', 'kazoo: cannot connect to amqp://u:s3cret-pw@h:5672 (s3cret-pw)'));
    emitter.on('error', () => {
      throw new Error('bad listener s3cret-pw');
    });
    reporter.error(new KazooError('NO_ROUTE', 'kazoo: no event route for y'));
    reporter.warning('kazoo: handling a x event failed', 'INTERNAL');
    expect(warn).not.toHaveBeenCalled();
    expect(lines.map(([level, message, fields]) => [level, message, (fields as { code: string }).code])).toEqual([
      ['error', 'kazoo: cannot connect to amqp://***@h:5672 (***)', 'KAZOO_CONNECT_FAILED'],
      ['error', "kazoo: an 'error' listener threw: bad listener *** (while reporting: kazoo: no event route for y)", 'KAZOO_LISTENER_FAILED'],
      ['warn', 'kazoo: handling a x event failed', 'KAZOO_INTERNAL'],
    ]);
    expect(JSON.stringify(lines, (_k, v: unknown) => (v instanceof Error ? `${v.message} ${v.stack}` : v))).not.toContain('s3cret-pw');
  });
});
