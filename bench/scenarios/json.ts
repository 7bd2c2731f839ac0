/**
 * `json`: field access in a Kazoo payload (kazoo_json / {kz.json}) — kazoo-amqp's
 * `json(payload, path)` against `JSON.parse` + a plain-JS path walk, calls per second over a
 * fixed mix of paths into a ~600-byte call_event payload. Each call parses the document, as the
 * module does.
 */
import { jsJson } from '../clients/plain-js';
import { loadKazoo } from '../clients/kazoo';
import { opsPerSecond } from '../support/micro';
import { FeatureUnavailable, RunOutput, Scenario, ScenarioState } from '../types';

const DOC = JSON.stringify({
  'Event-Category': 'call_event',
  'Event-Name': 'query_user_channels_resp',
  'Msg-ID': '3f2c1a9e-8b7d-4c6e-9f10-2a3b4c5d6e7f',
  Channels: [
    {
      switch_url: 'sip:mod_sofia@10.0.0.5:11000',
      'Call-ID': 'a84b4c76e66710@pc33.atlanta.com',
      Answered: true,
      Direction: 'inbound',
      Presence: { 'Presence-ID': '1000@example.com', State: 'confirmed' },
    },
    { switch_url: 'sip:mod_sofia@10.0.0.6:11000', 'Call-ID': '3c26700857b7-7fa4b3f9@192.168.1.20', Answered: false },
  ],
  Realm: 'example.com',
  Username: '1000',
  Count: 2,
  Meta: { 'a.b': 'dotted', nested: { arr: [1, 2, 3] } },
  'App-Name': 'ecallmgr',
  'App-Version': '4.3.0',
  Node: 'ecallmgr@fs1',
  'Server-ID': 'ecallmgr@fs1-<0.123.0>',
});

/** [payload, path] pairs, cycled; every path resolves to a string or an integer. */
export const JSON_INPUTS: ReadonlyArray<readonly [string, string]> = [
  [DOC, 'Event-Name'],
  [DOC, 'Channels[0].switch_url'],
  [DOC, 'Channels[1].Call-ID'],
  [DOC, 'Channels[0].Presence.State'],
  [DOC, 'Meta.a%b'],
  [DOC, 'Meta.nested.arr[1]'],
  [DOC, 'Count'],
  [DOC, 'Realm'],
];

/** The `json` micro-benchmark. */
export const jsonScenario: Scenario = {
  name: 'json',
  title: 'JSON path access (kazoo_json rules) in a ~600-byte Kazoo payload: kazoo-amqp json() vs JSON.parse + path walk.',
  clients: ['kazoo-amqp', 'plain-js'],
  metrics: [{ key: 'ops', label: 'json()', unit: 'ops/s', better: 'higher' }],

  async setup(): Promise<ScenarioState> {
    return {};
  },
  async teardown(): Promise<void> {},

  async run(task): Promise<RunOutput> {
    const ops = task.params.microOps;
    if (task.client === 'plain-js') {
      return { sample: { ops: opsPerSecond(JSON_INPUTS, ops, ([doc, path]) => jsJson(doc, path)) } };
    }
    const { json } = loadKazoo();
    if (typeof json !== 'function') throw new FeatureUnavailable('json() is not exported yet');
    const notes: string[] = [];
    for (const [doc, path] of JSON_INPUTS) {
      const ours = json(doc, path);
      const js = jsJson(doc, path);
      if (String(ours ?? '') !== String(js ?? '')) {
        notes.push(`json(doc, ${JSON.stringify(path)}) = ${JSON.stringify(ours)}, plain JS gives ${JSON.stringify(js)}`);
      }
    }
    return { sample: { ops: opsPerSecond(JSON_INPUTS, ops, ([doc, path]) => json(doc, path)) }, notes };
  },
};
