/**
 * Turns the outcome of a blocking native query (`Connection.querySync`) into what
 * `Kazoo.querySync` returns or throws: the same reply and errors as the asynchronous `query()`.
 */
import { describeValue, KazooError } from './errors';
import { KazooReply } from './message';
import type { NativeEvent } from './native';

/**
 * Builds the {@link KazooReply} of a synchronous query, or throws its {@link KazooError}
 * (QUERY_TIMEOUT with `exchange`, `routingKey`, `elapsedMs`; any failure the native side reported).
 * Kamailio: the outcome of `kazoo_query` (1 with `$kzR` set, −1 otherwise).
 */
export function settleSyncQuery(
  outcome: Extract<NativeEvent, { t: 'reply' | 'timeout' | 'fail' }>,
  target: { exchange: string; routingKey: string },
  escapeChar: string,
): KazooReply {
  if (outcome.t === 'reply') return new KazooReply(outcome.payload, outcome.routingKey, outcome.elapsedMs, escapeChar);
  if (outcome.t === 'timeout') {
    throw new KazooError(
      'QUERY_TIMEOUT',
      `kazoo: no reply to the query on exchange ${describeValue(target.exchange)} with routing key ${describeValue(target.routingKey)} within ${Math.round(outcome.elapsedMs)} ms`,
      { ...target, elapsedMs: outcome.elapsedMs },
    );
  }
  throw KazooError.from({ ...target, ...outcome.error });
}
