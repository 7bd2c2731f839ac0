/**
 * The client's lifecycle state (new → connecting → connected → closing → closed) and the
 * questions every part asks of it: may a publish go out, why is nothing connected.
 */
import { KazooError } from '../errors';

/** Where a client is in its life. */
export type ClientStateName = 'new' | 'connecting' | 'connected' | 'closing' | 'closed';

/** The one mutable lifecycle record shared by the client's parts. */
export class ClientState {
  /** Current state; only the lifecycle (lib/client/lifecycle.ts) changes it. */
  name: ClientStateName = 'new';
  /** close() has started closing the connections: no new publishes or queries. */
  closingLinks = false;

  /** close() was called (closing or closed). */
  get ended(): boolean {
    return this.name === 'closing' || this.name === 'closed';
  }

  /**
   * Publishes and queries are taken while connected, and while close() waits for running
   * handlers (a handler replying to its message must be able to).
   */
  accepting(): boolean {
    return this.name === 'connected' || (this.name === 'closing' && !this.closingLinks);
  }

  /** The NOT_CONNECTED error for the current state, saying why. */
  notConnected(): KazooError {
    const why =
      this.name === 'new' || this.name === 'connecting'
        ? 'connect() has not resolved yet'
        : this.name === 'connected'
          ? 'no broker connection is open (reconnecting)'
          : 'the client is closed';
    return new KazooError('NOT_CONNECTED', `kazoo: not connected: ${why}`);
  }
}
