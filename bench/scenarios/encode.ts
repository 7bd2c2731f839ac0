/**
 * `encode`: routing-key encoding (kazoo_encode / {kz.encode}) — kazoo-amqp's `encode(input)`
 * against a plain-JS `encodeURIComponent`-based equivalent, calls per second over a fixed mix of
 * typical inputs (SIP URIs, Call-IDs, realms, user names).
 */
import { jsEncode } from '../clients/plain-js';
import { loadKazoo } from '../clients/kazoo';
import { opsPerSecond } from '../support/micro';
import { FeatureUnavailable, RunOutput, Scenario, ScenarioState } from '../types';

/** The inputs, cycled. */
export const ENCODE_INPUTS: readonly string[] = [
  'sip:alice@example.com',
  'a84b4c76e66710@pc33.atlanta.com',
  'example.com',
  'John Doe',
  '1000',
  'user_name-1~x',
  '3c26700857b7-7fa4b3f9@192.168.1.20',
  'sip:+14155550100@sip.carrier.example.net;user=phone',
];

/** The `encode` micro-benchmark. */
export const encodeScenario: Scenario = {
  name: 'encode',
  title: 'Routing-key encoding (kazoo_encode rules) of typical SIP identifiers: kazoo-amqp encode() vs plain JS.',
  clients: ['kazoo-amqp', 'plain-js'],
  metrics: [{ key: 'ops', label: 'encode()', unit: 'ops/s', better: 'higher' }],

  async setup(): Promise<ScenarioState> {
    return {};
  },
  async teardown(): Promise<void> {},

  async run(task): Promise<RunOutput> {
    const ops = task.params.microOps;
    if (task.client === 'plain-js') return { sample: { ops: opsPerSecond(ENCODE_INPUTS, ops, jsEncode) } };
    const { encode } = loadKazoo();
    if (typeof encode !== 'function') throw new FeatureUnavailable('encode() is not exported yet');
    const notes: string[] = [];
    for (const input of ENCODE_INPUTS) {
      const ours = encode(input);
      const js = jsEncode(input);
      if (ours !== js) notes.push(`encode(${JSON.stringify(input)}) = ${JSON.stringify(ours)}, plain JS gives ${JSON.stringify(js)}`);
    }
    return { sample: { ops: opsPerSecond(ENCODE_INPUTS, ops, encode) }, notes };
  },
};
