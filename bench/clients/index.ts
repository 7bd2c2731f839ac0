/** Creates the adapter for a client id. */
import { ClientId } from '../types';
import { AmqpBenchClient, ClientOptions } from './types';

/**
 * Connects the AMQP client `id`; `ceiling` and `plain-js` are not AMQP adapters. Adapters are
 * loaded on demand so a worker only loads the library it measures.
 */
export async function connectClient(id: ClientId, opts: ClientOptions): Promise<AmqpBenchClient> {
  switch (id) {
    case 'kazoo-amqp':
      return (await import('./kazoo')).KazooClient.connect(opts);
    case 'amqplib':
      return (await import('./amqplib')).AmqplibClient.connect(opts);
    case 'amqp-client':
      return (await import('./amqp-client')).AmqpClientClient.connect(opts);
    default:
      throw new Error(`bench: ${id} is not an AMQP client adapter`);
  }
}

export type { AmqpBenchClient, ClientOptions } from './types';
