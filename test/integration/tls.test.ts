/**
 * amqps:// against a real TLS front (socat + certificates made by openssl in the test): the
 * right CA connects and publishes; a wrong CA or a host name the certificate does not name is
 * refused with CONNECT_FAILED and a reason that says which.
 */
import type * as amqplib from 'amqplib';
import { Kazoo, KazooError } from '../../lib';
import { drainQueue, openObserver, uniqueName } from '../support/broker';
import { startTlsFront, type TlsFront } from '../support/tls-front';

jest.setTimeout(30_000);

let front: TlsFront;
let observer: { connection: amqplib.ChannelModel; channel: amqplib.Channel };

beforeAll(async () => {
  front = await startTlsFront();
  observer = await openObserver();
});

afterAll(async () => {
  await front.close();
  await observer.connection.close();
});

async function connectFailure(url: string, caFile: string): Promise<{ code: string; messages: string }> {
  const kazoo = new Kazoo({ node_hostname: `${uniqueName('tls')}.test`, amqp_connection: url, amqps_ca_cert: caFile });
  const messages: string[] = [];
  kazoo.on('error', (e: Error) => messages.push(e.message));
  try {
    await kazoo.connect();
    await kazoo.close();
    return { code: 'connected', messages: '' };
  } catch (error) {
    return { code: (error as KazooError).code, messages: messages.join('\n') };
  }
}

describe('amqps://', () => {
  it('connects with the CA that signed the server certificate and publishes', async () => {
    const queue = uniqueName('tls-q');
    await observer.channel.assertQueue(queue, { durable: false, autoDelete: true });
    const kazoo = new Kazoo({
      node_hostname: `${uniqueName('tls')}.test`,
      amqp_connection: `amqps://guest:guest@localhost:${front.port}`,
      amqps_ca_cert: front.caFile,
    });
    try {
      await kazoo.connect();
      await kazoo.publish('', queue, { Over: 'tls' });
      const [message] = await drainQueue(observer.channel, queue, 1);
      expect(JSON.parse(message.content.toString()).Over).toBe('tls');
    } finally {
      await kazoo.close();
      await observer.channel.deleteQueue(queue);
    }
  });

  it('refuses a server certificate from another CA, saying it is not trusted', async () => {
    const { code, messages } = await connectFailure(`amqps://guest:guest@localhost:${front.port}`, front.otherCaFile);
    expect(code).toBe('CONNECT_FAILED');
    expect(messages).toMatch(/certificate is not trusted/);
  });

  it('refuses a certificate that does not name the host connected to', async () => {
    const { code, messages } = await connectFailure(`amqps://guest:guest@127.0.0.1:${front.port}`, front.caFile);
    expect(code).toBe('CONNECT_FAILED');
    expect(messages).toMatch(/does not match the host name/);
  });

  it('uses the system CA store when amqps_ca_cert is unset (a private CA is then not trusted)', async () => {
    const kazoo = new Kazoo({ node_hostname: `${uniqueName('tls')}.test`, amqp_connection: `amqps://guest:guest@localhost:${front.port}` });
    const messages: string[] = [];
    kazoo.on('error', (e: Error) => messages.push(e.message));
    await expect(kazoo.connect()).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
    expect(messages.join('\n')).toMatch(/certificate is not trusted/);
  });
});
