/** Markdown rendering of scenario results. */
import { ClientResult, ScenarioResult, SUBJECT } from '../types';
import { formatNumber, summarize } from './stats';

function statusText(r: ClientResult): string {
  switch (r.status) {
    case 'unavailable':
      return `**NOT AVAILABLE**: ${r.message ?? ''}`;
    case 'error':
      return `**FAILED**: ${r.message ?? ''}`;
    case 'skipped':
      return `skipped: ${r.message ?? ''}`;
    default:
      return '';
  }
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/**
 * One Markdown table for a scenario: a row per client and metric with median, min and max over
 * the repetitions, the unit, and the ratio kazoo-amqp median / that client's median.
 * Clients that did not run get one row saying why. Notes follow the table as a list.
 */
export function renderScenarioTable(result: ScenarioResult): string {
  const lines: string[] = [];
  lines.push(`### ${result.name}`);
  lines.push('');
  lines.push(result.title);
  lines.push('');
  if (result.error) {
    lines.push(`**Scenario could not run**: ${escapeCell(result.error)}`);
    lines.push('');
    return lines.join('\n');
  }
  const subject = result.clients.find((c) => c.client === SUBJECT && c.status === 'ok');
  const hasSubject = result.clients.some((c) => c.client === SUBJECT);
  const header = ['client', 'metric', 'median', 'min', 'max', 'unit', 'reps'];
  if (hasSubject) header.push(`${SUBJECT} / client`);
  lines.push(`| ${header.join(' | ')} |`);
  lines.push(`|${header.map((h, i) => (i >= 2 && i <= 4) || i === 6 || i === 7 ? '---:' : '---').join('|')}|`);

  for (const client of result.clients) {
    if (client.status !== 'ok') {
      const cells = [client.client, '', escapeCell(statusText(client)), '', '', '', String(client.samples.length)];
      if (hasSubject) cells.push('');
      lines.push(`| ${cells.join(' | ')} |`);
      continue;
    }
    for (const metric of result.metrics) {
      const values = client.samples.map((s) => s[metric.key]).filter((v) => typeof v === 'number');
      if (values.length === 0) continue;
      const s = summarize(values);
      const arrow = metric.better === 'higher' ? '↑' : '↓';
      const cells = [
        client.client,
        metric.label,
        formatNumber(s.median),
        formatNumber(s.min),
        formatNumber(s.max),
        `${metric.unit} ${arrow}`,
        String(s.n),
      ];
      if (hasSubject) {
        if (client.client === SUBJECT) {
          cells.push('—');
        } else if (subject) {
          const mine = summarize(subject.samples.map((x) => x[metric.key]).filter((v) => typeof v === 'number'));
          const ratio = mine.median / s.median;
          if (!Number.isFinite(ratio)) cells.push('–');
          else {
            const better = metric.better === 'higher' ? ratio > 1 : ratio < 1;
            cells.push(ratio === 1 ? '1.00×' : `${ratio.toFixed(2)}× (${better ? 'better' : 'worse'})`);
          }
        } else {
          cells.push('n/a');
        }
      }
      lines.push(`| ${cells.map(escapeCell).join(' | ')} |`);
    }
  }
  lines.push('');
  lines.push(
    `↑ higher is better, ↓ lower is better. Median/min/max over repetitions run interleaved with the other clients.` +
      (hasSubject
        ? ` The last column is ${SUBJECT}'s median divided by that client's median, and whether that favours ${SUBJECT}.`
        : ''),
  );
  const notes = result.clients.flatMap((c) => [...new Set(c.notes)].map((n) => `${c.client}: ${n}`));
  if (notes.length > 0) {
    lines.push('');
    for (const n of notes) lines.push(`- ${escapeCell(n)}`);
  }
  lines.push('');
  return lines.join('\n');
}
