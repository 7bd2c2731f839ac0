/**
 * A loopback TCP proxy in front of the real broker, for fault injection in integration tests:
 * `stall()` stops forwarding in both directions while every socket stays open (a hung broker),
 * `resume()` forwards again, `cut()` drops every live connection (a network blip: a reset, unless
 * the client had already ended its side), and `refuse(true)` resets new connections at once (a
 * broker that is down).
 */
import * as net from 'node:net';

/**
 * Drops `socket` with a reset (RST), unless its write side has already ended: then with
 * destroy(). Node's resetAndDestroy() on a socket whose FIN (the shutdown after `end()`, which
 * a server socket does by itself when the peer's FIN arrives) is still in flight fails with
 * EINVAL, yet Node then counts the handle as closing and never closes it; the process's final
 * environment teardown waits for that close forever, at 100 % CPU. A socket that has ended
 * its writes is closing anyway, so nothing is lost by not resetting it.
 */
export function resetSocket(socket: net.Socket): void {
  if (socket.writableEnded) socket.destroy();
  else socket.resetAndDestroy();
}

export class TcpProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private stalled = false;
  private refusing = false;
  /** Connections accepted so far (refused ones included). */
  accepted = 0;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = net.createServer((client) => this.onClient(client));
  }

  /** Starts a proxy on 127.0.0.1 (random port) forwarding to host:port. */
  static async start(targetHost = '127.0.0.1', targetPort = 5672): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    // A test helper must never be what keeps the test runner's process alive.
    proxy.server.unref();
    return proxy;
  }

  /** The port clients connect to. */
  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** An amqp:// URL through this proxy. */
  url(user = 'guest', password = 'guest'): string {
    return `amqp://${user}:${password}@127.0.0.1:${this.port}`;
  }

  /** Live client connections. */
  get connections(): number {
    return this.pairs.size;
  }

  /** Stops forwarding (both ways); sockets stay open and unread. */
  stall(): void {
    this.stalled = true;
    for (const { client, upstream } of this.pairs) {
      client.pause();
      upstream.pause();
    }
  }

  /** Forwards again what was held and everything after. */
  resume(): void {
    this.stalled = false;
    for (const { client, upstream } of this.pairs) {
      client.resume();
      upstream.resume();
    }
  }

  /** Drops every live connection with a reset, as a network failure would. */
  cut(): void {
    for (const pair of [...this.pairs]) {
      resetSocket(pair.client);
      pair.upstream.destroy();
      this.pairs.delete(pair);
    }
  }

  /** While on, new connections are reset as soon as they are accepted. */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  /** Drops everything and stops listening. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onClient(client: net.Socket): void {
    this.accepted += 1;
    if (this.refusing) {
      resetSocket(client);
      return;
    }
    const upstream = net.connect(this.targetPort, this.targetHost);
    const pair = { client, upstream };
    this.pairs.add(pair);
    const drop = () => {
      if (!this.pairs.delete(pair)) return;
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    // Plain forwarding (no pipe(): it would resume a stalled side on its own after a drain).
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => client.write(chunk));
    if (this.stalled) {
      client.pause();
      upstream.pause();
    }
  }
}
