/**
 * The acks and nacks of one consumer link, gathered over a JS turn and handed to the native
 * connection as one call. One settle per message used to cost an N-API call, a command and
 * (the I/O thread being quick to go back to sleep) an eventfd write and a wake-up of the I/O
 * thread each; per turn that is one of each, and the I/O thread can send the acks of a turn as
 * one `multiple` ack when nothing below them is still unsettled.
 *
 * A settle is only ever added once its handler has finished (or, by the settlement rules, when
 * its handler starts or on receipt), so batching delays an ack by at most the rest of the turn;
 * the buffer is flushed at the end of every native batch, by a microtask otherwise, and before
 * any other command goes to the same connection, so acks keep their order against subscribe,
 * unsubscribe and close. Inside a stream of deliveries the I/O thread itself holds the acks a
 * little longer and takes the settles without a wake-up (native/core/consumer.cc, kAckHold).
 */

/** The part of the native connection a settle buffer needs. */
export interface SettleTarget {
  /** See typings/native.d.ts. */
  settleMany(settles: Float64Array, count: number): void;
}

const FLAG_ACK = 1;
const FLAG_REQUEUE = 2;

/** Settles of one connection waiting for the end of the JS turn. */
export class SettleBuffer {
  private data = new Float64Array(4 * 256);
  private count = 0;
  private scheduled = false;
  private readonly flushTask = (): void => {
    this.scheduled = false;
    this.flush();
  };

  constructor(private readonly target: SettleTarget) {}

  /** Queues the settle of delivery `tag` (subscription `subId`, channel epoch `epoch`). */
  add(subId: number, epoch: number, tag: number, ack: boolean, requeue: boolean): void {
    let data = this.data;
    const at = this.count * 4;
    if (at === data.length) {
      const grown = new Float64Array(data.length * 2);
      grown.set(data);
      this.data = data = grown;
    }
    data[at] = subId;
    data[at + 1] = epoch;
    data[at + 2] = tag;
    data[at + 3] = (ack ? FLAG_ACK : 0) | (requeue ? FLAG_REQUEUE : 0);
    this.count++;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flushTask);
    }
  }

  /** Hands every queued settle to the connection now (a no-op when none is queued). */
  flush(): void {
    const count = this.count;
    if (count === 0) return;
    this.count = 0;
    this.target.settleMany(this.data, count);
  }
}
