/**
 * Subscriptions: what the client consumes, on which consumer links, under which queue names and
 * channel incarnations, and when a subscribe() or unsubscribe() call is settled.
 */
import { describeValue, KazooError } from '../errors';
import type { NativeFailure } from '../native';
import type { StatsRecorder } from '../observability/stats-recorder';
import type { NormalizedSubscription } from '../subscription';
import type { Link, Links } from './links';
import type { SubscriptionInfo } from './options';
import type { PendingOperations } from './pending';
import type { Reporter } from './reporter';
import type { ClientState } from './state';

/** One subscribe() call's subscription, across the consumer links it applies to. */
export interface SubscriptionRecord {
  subId: number;
  normalized: NormalizedSubscription;
  /** Queue name subscribe() reported (the broker's name for a server-named queue). */
  queue: string;
  links: Link[];
  /** Links whose declaration the subscribe() promise still waits for. */
  waiting?: Set<Link>;
  /** How many links confirmed the declaration so far. */
  confirmed?: number;
  /** Every name the queue was declared under (a server-named queue is renamed on re-declare). */
  names: Set<string>;
  /** Per consumer connection, the channel incarnation its current deliveries carry. */
  epochs: Map<Link, number>;
  settle?: { resolve: (info: SubscriptionInfo) => void; reject: (e: KazooError) => void; failed?: KazooError };
}

/** The client's subscriptions by id. */
export class Subscriptions {
  private readonly records = new Map<number, SubscriptionRecord>();
  private nextSubId = 1;

  constructor(
    private readonly state: ClientState,
    private readonly links: Links,
    private readonly pending: PendingOperations,
    private readonly reporter: Reporter,
    private readonly recorder: StatsRecorder,
  ) {}

  /** The live record of subscription `subId`, if it still exists. */
  get(subId: number): SubscriptionRecord | undefined {
    return this.records.get(subId);
  }

  /**
   * True when a delivery of `record` from `link` with channel incarnation `epoch` is still
   * current: not unsubscribed meanwhile and its channel not replaced by a reconnect.
   */
  isCurrent(record: SubscriptionRecord, link: Link, epoch: number): boolean {
    return this.records.get(record.subId) === record && record.epochs.get(link) === epoch;
  }

  /** Every record's links (connect() starts them). */
  linksToStart(): Link[] {
    const out: Link[] = [];
    for (const record of this.records.values()) out.push(...record.links);
    return out;
  }

  /**
   * Declares `normalized` on every consumer link it applies to and resolves once each link that
   * is up (or still on its first attempt) confirmed it.
   * @throws KazooError NOT_CONNECTED (closed, or connected with nothing open).
   */
  subscribe(normalized: NormalizedSubscription): Promise<SubscriptionInfo> {
    if (this.state.ended) throw this.state.notConnected();
    const links = this.links.consumers.filter((l) => l.endpoint.primary || normalized.federate);
    const producersUp = this.links.producers.some((l) => l.open && (l.endpoint.primary || normalized.federate));
    if (this.state.name === 'connected' && !producersUp && !links.some((l) => l.open)) throw this.state.notConnected();
    const subId = this.nextSubId++;
    const record: SubscriptionRecord = { subId, normalized, queue: normalized.native.queue, links, names: new Set(), epochs: new Map() };
    this.records.set(subId, record);
    this.recorder.subscribed(subId, record.queue);
    const promise = new Promise<SubscriptionInfo>((resolve, reject) => {
      record.settle = { resolve, reject };
    });
    if (this.state.name === 'connected' || this.state.name === 'connecting') for (const link of links) this.links.start(link);
    // Wait for every consumer that is up or still on its first attempt; one that is down
    // declares the subscription when it comes back.
    record.waiting = new Set(links.filter((l) => l.open || l.attempting || !l.started));
    record.confirmed = 0;
    for (const link of links) {
      link.settles.flush();
      link.connection.subscribe(0, subId, normalized.native);
    }
    if (record.waiting.size === 0) this.finish(record);
    return promise;
  }

  /**
   * Cancels the subscription consuming `queue` on every connection; resolves false when none does.
   * @throws KazooError NOT_CONNECTED after close().
   */
  async unsubscribe(queue: string): Promise<boolean> {
    if (this.state.ended) throw this.state.notConnected();
    const record = [...this.records.values()].find((r) => r.queue === queue || r.names.has(queue));
    if (!record) return false;
    this.records.delete(record.subId);
    this.recorder.unsubscribed(record.subId);
    if (record.settle) {
      record.settle.reject(new KazooError('CLOSED', `kazoo: queue ${describeValue(queue)} was unsubscribed before its declaration completed`, { queue }));
      record.settle = undefined;
    }
    // A connection not started yet still holds the Subscribe command: cancel it there too.
    for (const link of record.links) {
      if (link.started) continue;
      link.settles.flush();
      link.connection.unsubscribe(0, record.subId);
    }
    await Promise.all(
      record.links
        .filter((link) => link.started)
        .map((link) =>
          this.pending.command((id) => {
            link.settles.flush();
            return link.connection.unsubscribe(id, record.subId);
          }),
        ),
    );
    return true;
  }

  /** A link declared subscription `subId` (again) as `queue`; its deliveries carry `epoch`. */
  onSubscribed(link: Link, subId: number, queue: string, epoch: number): void {
    const record = this.records.get(subId);
    if (!record) return;
    record.epochs.set(link, epoch);
    // subscribe() reports the first name; unsubscribe() accepts any name it was declared under.
    if (record.names.size === 0) record.queue = queue;
    this.recorder.subscribed(subId, record.queue);
    record.names.add(queue);
    if (record.waiting?.delete(link)) {
      record.confirmed = (record.confirmed ?? 0) + 1;
      if (record.waiting.size === 0) this.finish(record);
    }
  }

  /** A link could not declare subscription `subId`: fails a waiting subscribe(), else reports. */
  onSubscribeFailed(link: Link, subId: number, failure: NativeFailure): void {
    const record = this.records.get(subId);
    if (!record) return;
    // Its channel is gone: deliveries still waiting in the lanes are stale (requeued by the broker).
    record.epochs.delete(link);
    const error = KazooError.from({ ...failure, queue: record.queue, host: link.endpoint.host });
    if (record.settle && record.waiting?.has(link)) {
      // The first declaration failed: nothing stays half-declared on the other connections.
      record.settle.failed ??= error;
      record.waiting.delete(link);
      if (record.waiting.size === 0) this.finish(record);
      return;
    }
    this.reporter.error(error);
  }

  /**
   * `link` closed (`closed: true`: its queued deliveries are stale now, requeued by the broker) or
   * failed to connect: subscribe() calls stop waiting for it.
   */
  onLinkDown(link: Link, closed: boolean): void {
    for (const record of this.records.values()) {
      if (closed) record.epochs.delete(link);
      if (record.waiting?.delete(link) && record.waiting.size === 0) this.finish(record);
    }
  }

  /** close(): subscribe() calls still waiting are rejected with CLOSED. */
  rejectWaiting(): void {
    for (const record of this.records.values()) {
      record.settle?.reject(new KazooError('CLOSED', 'kazoo: client closed before the subscription was declared'));
      record.settle = undefined;
    }
  }

  private finish(record: SubscriptionRecord): void {
    const settle = record.settle;
    if (!settle) return;
    record.settle = undefined;
    record.waiting = undefined;
    const failed =
      settle.failed ??
      (record.confirmed === 0 && record.links.length > 0
        ? new KazooError('NOT_CONNECTED', 'kazoo: no consumer connection could declare the subscription', {
            queue: record.queue,
          })
        : undefined);
    if (failed) {
      this.records.delete(record.subId);
      this.recorder.unsubscribed(record.subId);
      for (const link of record.links) {
        link.settles.flush();
        link.connection.unsubscribe(0, record.subId);
      }
      settle.reject(failed);
    } else {
      settle.resolve({ queue: record.queue });
    }
  }
}
