/**
 * kazoo-amqp: Kamailio's `kazoo` module for Node SIP servers. This file only re-exports.
 */
export {
  Kazoo,
  KazooEvent,
  type ConnectionEvent,
  type EventRouteHandler,
  type PublishOptions,
  type QueryOptions,
  type SubscriptionInfo,
} from './kazoo';
export { KazooMessage, KazooReply } from './message';
export { KazooError, type KazooErrorCode, type KazooErrorDetails } from './errors';
export { DEFAULTS, resolveConfig, type KazooConfig, type ResolvedConfig } from './config';
export { encode, type EncodeCompat, type EncodeOptions } from './encode';
export { json, jsonCount, type JsonPathOptions } from './json';
export { CONSUMER_EVENT_ROUTE, consumerEventCandidates, normalizeRouteName, connectionEventPayload } from './route-names';
export { coreHash, consistentWorker } from './core-hash';
export type { SubscriptionDescription } from './subscription';
export type { PuaResult } from './presence/types';
// Observability (issue 13): stats snapshot types, Prometheus exposition, health, logger.
export type { KazooLogger } from './logger';
export { serveMetrics, type ServeMetricsOptions, type StatsSource } from './observability/http';
export { registerKazooMetrics, type PromRegistry } from './observability/prom-client';
export { healthOf, type KazooHealth } from './observability/health';
export { LATENCY_BUCKETS, type HistogramSnapshot } from './observability/histogram';
export type {
  ConnectionRole,
  ConnectionState,
  ConnectionStats,
  KazooStats,
  PublishStats,
  QueryStats,
  QueueStats,
  RouteStats,
  ServerStats,
} from './observability/stats-types';
