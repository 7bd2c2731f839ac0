/**
 * The metrics HTTP endpoint: `/metrics` (Prometheus text) and `/health` (200/503 + JSON) for one
 * client, on 127.0.0.1 unless told otherwise. `kazoo-amqp run --metrics-port N` serves it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { invalid } from '../errors';
import { EXPOSITION_CONTENT_TYPE, metricFamilies, renderExposition } from './exposition';
import { healthOf } from './health';
import type { KazooStats } from './stats-types';

/** Options of {@link serveMetrics}. */
export interface ServeMetricsOptions {
  /** TCP port, 0..65535 (0: any free port; read it from `server.address()`). */
  port: number;
  /** Address to listen on; default `127.0.0.1` (metrics are not for the whole network by default). */
  host?: string;
}

/** What serveMetrics needs of a client: {@link Kazoo} fits. */
export interface StatsSource {
  stats(): KazooStats;
}

function respond(res: ServerResponse, status: number, type: string, body: string, head: boolean): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(head ? undefined : body);
}

function handle(kazoo: StatsSource, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0];
  const head = req.method === 'HEAD';
  if (path !== '/metrics' && path !== '/health') {
    respond(res, 404, 'text/plain; charset=utf-8', 'not found: try /metrics or /health\n', head);
    return;
  }
  if (req.method !== 'GET' && !head) {
    res.setHeader('Allow', 'GET, HEAD');
    respond(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', false);
    return;
  }
  try {
    const stats = kazoo.stats();
    if (path === '/metrics') {
      respond(res, 200, EXPOSITION_CONTENT_TYPE, renderExposition(metricFamilies(stats)), head);
    } else {
      const health = healthOf(stats);
      respond(res, health.healthy ? 200 : 503, 'application/json; charset=utf-8', `${JSON.stringify(health)}\n`, head);
    }
  } catch (error) {
    respond(res, 500, 'text/plain; charset=utf-8', `kazoo: cannot collect metrics: ${error instanceof Error ? error.message : String(error)}\n`, head);
  }
}

/**
 * Serves `kazoo`'s metrics over HTTP: `GET /metrics` answers the Prometheus text exposition
 * ({@link Kazoo.metrics}), `GET /health` answers 200 while a primary-zone producer connection is
 * open and 503 otherwise, with a JSON body ({@link KazooHealth}). Resolves with the listening
 * server once it is bound; close it with `server.close()` (closing the client does not).
 * Kamailio: none (the module exports no statistics).
 * @throws KazooError INVALID_ARGUMENT when `port` is not an integer 0..65535 or `host` not a
 * non-empty string; rejects with Node's listen error (e.g. `EADDRINUSE`) when it cannot bind.
 */
export function serveMetrics(kazoo: StatsSource, options: ServeMetricsOptions): Promise<Server> {
  try {
    if (kazoo === null || typeof kazoo !== 'object' || typeof kazoo.stats !== 'function') {
      throw invalid('INVALID_ARGUMENT', 'kazoo', 'a Kazoo client', kazoo);
    }
    if (options === null || typeof options !== 'object') throw invalid('INVALID_ARGUMENT', 'options', 'an object', options);
    const { port, host = '127.0.0.1' } = options;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw invalid('INVALID_ARGUMENT', 'options.port', 'an integer 0..65535', port);
    }
    if (typeof host !== 'string' || host === '') throw invalid('INVALID_ARGUMENT', 'options.host', 'a non-empty string', host);
    const server = createServer((req, res) => handle(kazoo, req, res));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  } catch (error) {
    return Promise.reject(error);
  }
}
