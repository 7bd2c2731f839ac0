/**
 * Child-process scenario for test/unit/tcp-proxy.test.ts: a client of the loopback proxy ends its
 * side, and the proxy is cut while its socket's own FIN (the shutdown Node starts by itself
 * when the peer's FIN arrives) is still in flight. Then everything is closed, and the process
 * must end on its own: a reset socket whose handle Node never closes would keep its final
 * teardown spinning forever. Prints what the socket's state was at the cut.
 */
import * as net from 'node:net';
import { TcpProxy } from '../tcp-proxy';

async function main(): Promise<void> {
  const target = net.createServer((s) => s.on('error', () => undefined));
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const proxy = await TcpProxy.start('127.0.0.1', (target.address() as net.AddressInfo).port);
  const state = new Promise<{ ended: boolean; finished: boolean }>((resolve) => {
    // The proxy's own listener runs first (it registered first): the pair exists by now.
    (proxy as unknown as { server: net.Server }).server.on('connection', (socket: net.Socket) => {
      socket.on('end', () =>
        // Node ends a server socket's writes a tick after the peer's FIN; its shutdown stays
        // pending until the loop next polls. A microtask lands in between.
        queueMicrotask(() => {
          const at = { ended: socket.writableEnded, finished: socket.writableFinished };
          proxy.cut();
          resolve(at);
        }),
      );
    });
  });
  const client = net.connect(proxy.port, '127.0.0.1', () => client.end());
  client.on('error', () => undefined);
  const at = await state;
  client.destroy();
  await proxy.close();
  await new Promise((resolve) => target.close(resolve));
  process.stdout.write(`${JSON.stringify(at)}\n`);
}

main().catch((error) => {
  process.stderr.write(`scenario failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
