/**
 * The client's start-up and shutdown: connect() (start the producers, wait for the primary zone,
 * run `kazoo:mod-init` before anything else reaches a handler) and close() (let handlers finish,
 * close every link, reject what is left).
 */
import type { ResolvedConfig } from '../config';
import { KazooError } from '../errors';
import type { StatsRecorder } from '../observability/stats-recorder';
import type { Dispatcher } from './dispatch';
import type { Links } from './links';
import type { PendingOperations } from './pending';
import type { Router } from './router';
import type { ClientState } from './state';
import type { Subscriptions } from './subscriptions';

/** How long close() waits for running event-route handlers before closing the connections. */
const CLOSE_HANDLER_GRACE_MS = 5000;

/** The parts connect() and close() coordinate. */
export interface LifecycleParts {
  config: ResolvedConfig;
  state: ClientState;
  links: Links;
  pending: PendingOperations;
  subscriptions: Subscriptions;
  router: Router;
  dispatcher: Dispatcher;
  recorder: StatsRecorder;
}

/** connect() and close(), each run at most once per client. */
export class Lifecycle {
  private connectPromise?: Promise<void>;
  private closePromise?: Promise<void>;

  constructor(private readonly parts: LifecycleParts) {}

  /**
   * Starts connecting (once); see {@link Kazoo.connect}.
   * @throws KazooError CLOSED, CONNECT_FAILED, HANDLER_FAILED (kazoo:mod-init failed).
   */
  connect(): Promise<void> {
    const { state } = this.parts;
    if (state.ended) return Promise.reject(new KazooError('CLOSED', 'kazoo: client is closed; create a new Kazoo to connect again'));
    if (this.connectPromise) return this.connectPromise;
    state.name = 'connecting';
    this.connectPromise = this.doConnect();
    return this.connectPromise;
  }

  /** Closes (once); see {@link Kazoo.close}. */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doConnect(): Promise<void> {
    const { config, state, links, subscriptions, router, dispatcher } = this.parts;
    // Nothing reaches a handler before kazoo:mod-init has run (it runs first in the module):
    // connection events and deliveries wait here until start-up is complete.
    dispatcher.hold();
    for (const link of links.producers) links.start(link);
    // Subscriptions made before connect() are declared as soon as their consumer connects.
    for (const link of subscriptions.linksToStart()) links.start(link);
    await Promise.all(links.producers.filter((l) => l.endpoint.primary).map((l) => l.firstAttempt));
    if (state.name !== 'connecting') {
      dispatcher.dropHeld();
      throw new KazooError('CLOSED', 'kazoo: client was closed while connecting');
    }
    if (!links.primaryOpen()) {
      dispatcher.dropHeld();
      const primaries = config.servers.filter((s) => s.primary).map((s) => s.url);
      const error = new KazooError('CONNECT_FAILED', `kazoo: cannot connect to any primary-zone broker (${primaries.join(', ')})`);
      await this.close();
      throw error;
    }
    state.name = 'connected';
    const modInit = router.modInit();
    if (modInit) {
      try {
        await modInit.handler(dispatcher.event(modInit.name, ''));
      } catch (error) {
        dispatcher.dropHeld();
        // Start-up did not complete: leave nothing connected behind.
        await this.close();
        const err = new KazooError('HANDLER_FAILED', `kazoo: event route kazoo:mod-init failed: ${error instanceof Error ? error.message : String(error)}`);
        (err as Error & { cause?: unknown }).cause = error;
        throw err;
      }
    }
    dispatcher.release();
  }

  private async doClose(): Promise<void> {
    const { state, links, pending, subscriptions, dispatcher, recorder } = this.parts;
    state.name = 'closing';
    recorder.closing();
    // Let running handlers finish first so their acks are queued before the connections close
    // (an ack after the channel closed would be lost and the message handled twice). Bounded:
    // a handler that never settles must not keep close() waiting; its message is requeued.
    await Promise.race([dispatcher.idle(), new Promise((r) => setTimeout(r, CLOSE_HANDLER_GRACE_MS).unref())]);
    state.closingLinks = true;
    await links.closeAll((issue) => pending.command(issue));
    state.name = 'closed';
    recorder.closed();
    subscriptions.rejectWaiting();
    pending.rejectEverything(() => new KazooError('CLOSED', 'kazoo: client is closed'));
    // No final wait for the lanes: a handler that never settles must not hang close() (the grace
    // period above already let the others finish; its message goes back to the broker).
  }
}
