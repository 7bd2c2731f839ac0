/**
 * The integration tests' loopback proxy (test/support/tcp-proxy.ts) never leaves a handle that
 * keeps a process from ending, even when it is cut while a client's connection is half-closed.
 * Runs in a child process, so a hang shows as a failed test, not a stuck test runner.
 */
import { runChild } from '../support/lifecycle/children';

describe('TcpProxy.cut() on a connection whose client has ended its side', () => {
  it('drops it while its FIN is in flight, and the process then ends on its own', async () => {
    const result = await runChild('proxy-cut-after-fin', [], [], 20_000);
    expect(result.stderr).toBe('');
    expect({ status: result.status, signal: result.signal }).toEqual({ status: 0, signal: null });
    // The scenario did hit the window: writes ended, FIN not yet out.
    expect(JSON.parse(result.stdout)).toEqual({ ended: true, finished: false });
  });
});
