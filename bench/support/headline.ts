/**
 * The headline table: the ratios the project's performance targets are stated in, computed from
 * one run's scenario results (kazoo-amqp's median over the baseline's median, same run).
 *
 * Where the broker on the same cores bounds every client's throughput, what a native client buys
 * a SIP server is CPU left for SIP work, so CPU per message leads; query throughput and round trip
 * and json() speed complete the list. The targets are those of docs/performance.md.
 */
import { ClientId, ScenarioResult, SUBJECT } from '../types';
import { formatNumber, summarize } from './stats';

/** One headline: kazoo-amqp in `scenario` against `baseline` in `baselineScenario`, on `metric`. */
interface Headline {
  what: string;
  scenario: string;
  baselineScenario: string;
  baseline: ClientId;
  metric: string;
  /** The target, as a bound on the ratio. */
  target: { op: '≤' | '≥'; value: number };
}

const HEADLINES: Headline[] = [
  { what: 'query throughput, c=64', scenario: 'query', baselineScenario: 'query', baseline: 'amqplib', metric: 'rate', target: { op: '≥', value: 1.2 } },
  { what: 'query round trip p50, c=1', scenario: 'query', baselineScenario: 'query', baseline: 'amqplib', metric: 'p50', target: { op: '≤', value: 1.0 } },
  { what: 'client CPU per publish, confirms off', scenario: 'publish', baselineScenario: 'publish', baseline: 'amqplib', metric: 'cpu', target: { op: '≤', value: 0.5 } },
  {
    what: 'client CPU per publish, ours with confirms vs amqplib fire-and-forget',
    scenario: 'publish-confirm',
    baselineScenario: 'publish',
    baseline: 'amqplib',
    metric: 'cpu',
    target: { op: '≤', value: 0.8 },
  },
  { what: 'client CPU per consumed message, ack after handler', scenario: 'consume', baselineScenario: 'consume', baseline: 'amqplib', metric: 'cpu', target: { op: '≤', value: 0.6 } },
  { what: 'json(payload, path) vs JSON.parse + walk', scenario: 'json', baselineScenario: 'json', baseline: 'plain-js', metric: 'ops', target: { op: '≥', value: 1.0 } },
];

function medianOf(results: ScenarioResult[], scenario: string, client: ClientId, metric: string): number | null {
  const r = results.find((x) => x.name === scenario);
  const c = r?.clients.find((x) => x.client === client && x.status === 'ok');
  if (!c) return null;
  const values = c.samples.map((s) => s[metric]).filter((v): v is number => typeof v === 'number');
  return values.length ? summarize(values).median : null;
}

/**
 * Renders the headline table for the scenarios that ran; headlines whose scenarios or clients
 * did not run are left out. Returns '' when none can be computed.
 */
export function renderHeadlines(results: ScenarioResult[]): string {
  const rows: string[] = [];
  for (const h of HEADLINES) {
    const mine = medianOf(results, h.scenario, SUBJECT, h.metric);
    const theirs = medianOf(results, h.baselineScenario, h.baseline, h.metric);
    if (mine === null || theirs === null || theirs === 0) continue;
    const ratio = mine / theirs;
    const met = h.target.op === '≤' ? ratio <= h.target.value : ratio >= h.target.value;
    rows.push(
      `| ${h.what} | ${formatNumber(mine)} | ${h.baseline}: ${formatNumber(theirs)} | ${ratio.toFixed(2)}× | ${h.target.op} ${h.target.value.toFixed(1)}× | ${met ? 'met' : 'not met'} |`,
    );
  }
  if (rows.length === 0) return '';
  return [
    '### headline ratios',
    '',
    `${SUBJECT}'s median over the baseline's median in this run, against the targets of docs/performance.md.`,
    '',
    `| what | ${SUBJECT} | baseline | ratio | target | |`,
    '|---|---:|---:|---:|---:|---|',
    ...rows,
    '',
  ].join('\n');
}
