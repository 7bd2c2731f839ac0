import { performance } from 'node:perf_hooks';
import { Kazoo, KazooError } from '../../lib';
import { connectedKazoo } from '../support/broker';
import { KazooResponder } from '../support/kazoo-responder';

let kz: Kazoo; let r: KazooResponder;
beforeEach(async () => { kz = await connectedKazoo({}); kz.on('error', () => {}); r = await KazooResponder.start(); });
afterEach(async () => { await kz.close(); await r.stop(); });

test.each([200, 1000, 3000])('burst of %i timeouts', async (N) => {
  const t0 = performance.now();
  const rows = await Promise.all(Array.from({ length: N }, (_, i) => { const c = performance.now(); return kz.query(r.exchange, 'x', { Token: `${i}`, Mode: 'never' }, { timeoutMs: 500 }).then(() => null, (e: KazooError) => ({ i, call: c - t0, rej: performance.now() - t0, el: e.details.elapsedMs as number })); }));
  const issued = performance.now() - t0;
  const recvAt = (r.requests.length);
  const pick = (k: number) => { const x = rows[k]!; return `i=${x.i} call=${x.call.toFixed(0)} wall=${(x.rej - x.call).toFixed(0)} el=${x.el.toFixed(0)} lagNative=${(x.rej - x.call - x.el).toFixed(0)}`; };
  console.log(`N=${N} recv=${recvAt}\n` + [0, Math.floor(N/4), Math.floor(N/2), N-1].map(pick).join('\n'), '\nfirst request at responder rel', (r.requests[0].receivedAt), 'last', r.requests[N-1].receivedAt - r.requests[0].receivedAt);
});
