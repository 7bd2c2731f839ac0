/**
 * Health as a load balancer or orchestrator sees it: healthy while a primary-zone producer
 * connection is open, with a small JSON-ready body naming every connection's state.
 */
import type { ConnectionRole, ConnectionState, KazooStats } from './stats-types';

/** The body of `/health` (and what {@link healthOf} returns). */
export interface KazooHealth {
  /**
   * `ok`: a primary-zone producer is open; `degraded`: open, but every open primary producer is
   * blocked by the broker's flow control (publishes wait); `unavailable`: none is open.
   */
  readonly status: 'ok' | 'degraded' | 'unavailable';
  /** True for `ok` and `degraded` (HTTP 200), false for `unavailable` (HTTP 503). */
  readonly healthy: boolean;
  readonly connections: ReadonlyArray<{
    readonly server: string;
    readonly zone: string;
    readonly primary: boolean;
    readonly role: ConnectionRole;
    readonly state: ConnectionState;
    /** ms since the epoch of the last state change. */
    readonly since: number;
  }>;
}

/** True while a primary-zone producer connection is open (blocked included). */
export function isHealthy(stats: KazooStats): boolean {
  return stats.servers.some((s) => s.primary && (s.producer.state === 'open' || s.producer.state === 'blocked'));
}

/**
 * Health of a client from its {@link Kazoo.stats} snapshot. A broker memory/disk alarm blocks
 * every client of that broker at once, so a blocked producer stays healthy (`degraded`): taking
 * every SIP server out of rotation would not help.
 */
export function healthOf(stats: KazooStats): KazooHealth {
  const primaries = stats.servers.filter((s) => s.primary).map((s) => s.producer.state);
  const status = primaries.includes('open') ? 'ok' : primaries.includes('blocked') ? 'degraded' : 'unavailable';
  const connections = stats.servers.flatMap((s) =>
    [s.producer, s.consumer].map((c) => ({ server: s.server, zone: s.zone, primary: s.primary, role: c.role, state: c.state, since: c.since })),
  );
  return { status, healthy: status !== 'unavailable', connections };
}
