/** Run sizes, broker coordinates and the payloads every client gets. */
import * as fs from 'fs';
import * as path from 'path';
import { BrokerInfo, RunParams } from './types';

/**
 * kazoo-amqp's version (package.json), which it injects as `App-Version`; the baselines use the
 * same value so that every client sends bodies of the same size.
 */
export const APP_VERSION: string = (() => {
  try {
    const file = path.resolve(__dirname, '..', '..', 'package.json');
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

/** Sizes of a full run (`npm run bench`): what docs/performance.md reports. */
export const FULL: RunParams = {
  quick: false,
  repetitions: 5,
  publishN: 50_000,
  publishConfirmN: 20_000,
  consumeN: 50_000,
  queryLatencyN: 2_000,
  queryThroughputN: 20_000,
  queryConcurrency: 64,
  eventLoopMs: 5_000,
  microOps: 500_000,
  publishWindow: 1024,
  prefetch: 1000,
  taskTimeoutMs: 180_000,
};

/** Sizes of `--quick`: proves the harness runs end to end (CI); the numbers mean little. */
export const QUICK: RunParams = {
  quick: true,
  repetitions: 3,
  publishN: 2_000,
  publishConfirmN: 1_000,
  consumeN: 2_000,
  queryLatencyN: 100,
  queryThroughputN: 640,
  queryConcurrency: 64,
  eventLoopMs: 300,
  microOps: 20_000,
  publishWindow: 1024,
  prefetch: 1000,
  taskTimeoutMs: 30_000,
};

/** Parses AMQP_URL (default: the local broker) into what the ceiling binary needs. */
export function brokerFromEnv(env: NodeJS.ProcessEnv = process.env): BrokerInfo {
  const url = env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
  const u = new URL(url);
  if (u.protocol !== 'amqp:') throw new Error(`bench: AMQP_URL must be an amqp:// URL, got ${url}`);
  const rawVhost = u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : '/';
  return {
    url,
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 5672,
    vhost: rawVhost,
    user: u.username ? decodeURIComponent(u.username) : 'guest',
    password: u.password ? decodeURIComponent(u.password) : 'guest',
  };
}

/**
 * The payload handed to kazoo-amqp's publish(): what a Kamailio script would pass.
 * kazoo-amqp parses it, injects App-Name/App-Version/Node/Msg-ID/Server-ID and serializes it on
 * every publish (that work is part of what is measured).
 */
export const SCRIPT_PAYLOAD =
  '{"Event-Category":"directory","Event-Name":"reg_success","Realm":"example.com","Username":"1000"}';

/**
 * The bytes every other publisher sends, pre-serialized once: the body kazoo-amqp puts on the wire
 * for {@link SCRIPT_PAYLOAD} (json-c "spaced" format, docs/module-behaviour.md#publish), with a fixed Msg-ID.
 */
export function wireBody(nodeHostname: string): string {
  return (
    '{ "Event-Category": "directory", "Event-Name": "reg_success", "Realm": "example.com", "Username": "1000", ' +
    `"App-Name": "kamailio", "App-Version": "${APP_VERSION}", "Node": "kamailio@${nodeHostname}", ` +
    '"Msg-ID": "50923518-fd28-423b-abdd-f4e27c149e4c", ' +
    `"Server-ID": "kamailio@${nodeHostname}-<1>-targeted-0" }`
  );
}

/** Request payload of the query scenario (what a script passes to kazoo_query). */
export const QUERY_PAYLOAD =
  '{"Event-Category":"bench","Event-Name":"echo_req","Realm":"example.com","Username":"1000"}';

/** node_hostname for this run: unique, so targeted reply queues never collide with anything. */
export function benchHostname(runId: string): string {
  return `bench-${runId}.local`;
}
