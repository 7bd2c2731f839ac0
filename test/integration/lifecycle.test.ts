/**
 * Lifecycle of the addon with a live broker connection (docs/threading.md#rules, rule 10):
 * worker threads terminated with a connected client, process.exit() with an open client and a
 * pending query, and clients dropped without close() and garbage-collected. Each scenario runs
 * in its own worker or process (test/support/lifecycle/*), so a crash or hang shows as a failed
 * test, not a dead test runner.
 */
import { AMQP_URL, uniqueName } from '../support/broker';
import { runChild, startWorker } from '../support/lifecycle/children';

/** Signs of a native crash in a child's stderr. */
const ABORT = /Abort|FATAL ERROR|terminate called|Segmentation fault|core dumped|Assertion .* failed/i;

function ready(worker: ReturnType<typeof startWorker>): Promise<void> {
  return new Promise((resolve, reject) => {
    worker.once('message', (m: string) => (m === 'ready' ? resolve() : reject(new Error(String(m)))));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready`)));
  });
}

describe('worker.terminate() with a connected client', () => {
  it.each([1, 2])('returns within 2 s for each of two workers that load the addon (round %i)', async () => {
    const workers = [0, 1].map(() => startWorker('worker-client', { url: AMQP_URL, node: `${uniqueName('worker')}.test` }));
    try {
      await Promise.all(workers.map(ready));
      for (const worker of workers) {
        const started = Date.now();
        const code = await worker.terminate();
        const elapsed = Date.now() - started;
        expect({ code, within2s: elapsed < 2000, elapsed }).toMatchObject({ code: 1, within2s: true });
      }
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  }, 30_000);
});

describe('process.exit() with an open client', () => {
  it('exits with the given status (7), no abort, while a query and publishes are pending', async () => {
    const result = await runChild('exit-with-open-client', [AMQP_URL, `${uniqueName('exit')}.test`]);
    expect(result.stderr).not.toMatch(ABORT);
    expect(result.stdout).toBe('pending\n');
    expect({ status: result.status, signal: result.signal }).toEqual({ status: 7, signal: null });
  });
});

describe('garbage collection of unclosed clients (node --expose-gc)', () => {
  it('collects clients that never connected or were closed, and the process then ends on its own', async () => {
    const result = await runChild('gc-clients', ['closed', AMQP_URL, `${uniqueName('gc')}.test`], ['--expose-gc']);
    expect(result.stderr).not.toMatch(ABORT);
    expect({ status: result.status, signal: result.signal }).toEqual({ status: 0, signal: null });
    expect(JSON.parse(result.stdout)).toEqual({ collected: 21, registered: 21 });
  });

  it('keeps a dropped, unclosed, connected client alive through gc(), consuming like an open socket', async () => {
    const result = await runChild('gc-clients', ['open', AMQP_URL, `${uniqueName('gc')}.test`], ['--expose-gc']);
    expect(result.stderr).not.toMatch(ABORT);
    expect({ status: result.status, signal: result.signal }).toEqual({ status: 0, signal: null });
    expect(JSON.parse(result.stdout)).toEqual({ collected: 0, registered: 1, delivered: ['1'] });
  });
});
