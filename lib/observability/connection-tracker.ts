/**
 * The state of one broker connection (server × role) as operators see it: state and since when,
 * opens, reconnects, failed connect attempts and the last error, and the log line each change
 * deserves. Updated only on connection events, so plain fields are fine here.
 */
import type { LogSink } from '../logger';
import type { ConnectionRole, ConnectionState, ConnectionStats } from './stats-types';

/** One connection's operator-facing state. */
export class ConnectionTracker {
  private state: ConnectionState = 'closed';
  private since = Date.now();
  private opens = 0;
  private connectFailures = 0;
  private lastError: { reason: string; at: number } | null = null;
  /** The client is closing: a close is expected, not worth a warning. */
  private shuttingDown = false;

  /**
   * @param role producer or consumer.
   * @param where `host:port (zone z)`, for log lines.
   * @param log the client's log sink.
   * @param redact strips credentials from broker-supplied reasons.
   */
  constructor(
    readonly role: ConnectionRole,
    private readonly where: string,
    log: LogSink,
    private readonly redact: (text: string) => string,
  ) {
    // Connection changes are logged only to a configured logger: without one they were never
    // process warnings, and the 'connection' event already reports them.
    this.log = log.custom ? log : undefined;
  }

  private readonly log: LogSink | undefined;

  /** True while open (blocked included). */
  get up(): boolean {
    return this.state === 'open' || this.state === 'blocked';
  }

  /** The client started this connection (its first connect attempt begins). */
  starting(): void {
    if (this.state === 'closed' && this.opens === 0) this.set('connecting');
  }

  /** The connection opened or closed (`reason` from the broker or the socket). */
  changed(state: 'open' | 'closed', reason?: string): void {
    if (state === 'open') {
      this.opens++;
      this.set('open');
      this.log?.info(`kazoo: ${this.role} connection to ${this.where} open${this.opens > 1 ? ' again (reconnected)' : ''}`, {
        code: 'KAZOO_CONNECTION_OPEN',
      });
      return;
    }
    const wasUp = this.up;
    this.set('closed');
    const why = reason ? this.redact(reason) : undefined;
    if (why !== undefined && !this.shuttingDown) this.lastError = { reason: why, at: Date.now() };
    if (!wasUp) return;
    const line = `kazoo: ${this.role} connection to ${this.where} closed${why ? `: ${why}` : ''}`;
    if (this.shuttingDown) this.log?.info(line, { code: 'KAZOO_CONNECTION_CLOSED' });
    else this.log?.warn(`${line} (reconnecting)`, { code: 'KAZOO_CONNECTION_CLOSED' });
  }

  /** The broker blocked (`connection.blocked`) or unblocked this connection. */
  blocked(blocked: boolean, reason?: string): void {
    if (!this.up) return;
    this.set(blocked ? 'blocked' : 'open');
    const why = reason ? `: ${this.redact(reason)}` : '';
    if (blocked) this.log?.warn(`kazoo: broker blocked the ${this.role} connection to ${this.where}${why}`, { code: 'KAZOO_CONNECTION_BLOCKED' });
    else this.log?.info(`kazoo: broker unblocked the ${this.role} connection to ${this.where}`, { code: 'KAZOO_CONNECTION_UNBLOCKED' });
  }

  /** A connect attempt failed (logged by the client's error reporting, once per outage). */
  connectFailed(reason: string): void {
    this.connectFailures++;
    this.lastError = { reason: this.redact(reason), at: Date.now() };
  }

  /** close() began: closes from now on are expected. */
  closing(): void {
    this.shuttingDown = true;
  }

  /** close() finished. */
  closed(): void {
    this.shuttingDown = true;
    if (this.state !== 'closed') this.set('closed');
  }

  snapshot(): ConnectionStats {
    return {
      role: this.role,
      state: this.state,
      since: this.since,
      opens: this.opens,
      reconnects: this.opens > 0 ? this.opens - 1 : 0,
      connectFailures: this.connectFailures,
      lastError: this.lastError,
    };
  }

  private set(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.since = Date.now();
  }
}
