/**
 * A real TLS front for the local broker in integration tests: certificates made with `openssl`
 * in a temp directory (a CA, a server certificate for `localhost` signed by it, and an unrelated
 * CA), and `socat OPENSSL-LISTEN` terminating TLS and forwarding to RabbitMQ's plain port.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface TlsFront {
  port: number;
  /** CA that signed the server certificate. */
  caFile: string;
  /** A CA that signed nothing here. */
  otherCaFile: string;
  close(): Promise<void>;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'ignore' });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Makes the certificates and starts socat; the server certificate names only DNS:localhost. */
export async function startTlsFront(targetPort = 5672): Promise<TlsFront> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kazoo-tls-'));
  const ca = (name: string) =>
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`,
      '-days', '2', '-subj', `/CN=${name}`], dir);
  ca('test-ca');
  ca('other-ca');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'test-ca.pem', '-CAkey', 'test-ca.key', '-CAcreateserial',
    '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext'], dir);
  const port = await freePort();
  const socat: ChildProcess = spawn('socat', [
    `OPENSSL-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork,cert=${path.join(dir, 'server.pem')},key=${path.join(dir, 'server.key')},verify=0`,
    `TCP:127.0.0.1:${targetPort}`,
  ], { stdio: 'ignore' });
  // Ready once it accepts a TCP connection.
  const deadline = Date.now() + 5000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error('socat did not start listening');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    caFile: path.join(dir, 'test-ca.pem'),
    otherCaFile: path.join(dir, 'other-ca.pem'),
    close: async () => {
      socat.kill('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
