/**
 * Hand-written SVG bar charts (no chart library): one file per scenario, one panel per metric,
 * one horizontal bar per client at its median with a min–max whisker.
 */
import { ScenarioResult, SUBJECT } from '../types';
import { formatNumber, summarize } from './stats';

const WIDTH = 760;
const LABEL_W = 130;
const VALUE_W = 120;
const BAR_H = 22;
const BAR_GAP = 8;
const PANEL_HEAD = 34;
const PANEL_GAP = 18;
const TITLE_H = 46;
const COLORS: Record<string, string> = {
  'kazoo-amqp': '#2b6cb0',
  amqplib: '#718096',
  'amqp-client': '#a0aec0',
  ceiling: '#2f855a',
  'plain-js': '#b7791f',
};

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** "Nice" upper bound for an axis (1, 2, 2.5 or 5 × 10^k) at or above `v`. */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const exp = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= v) return m * exp;
  return 10 * exp;
}

/**
 * Renders the chart for one scenario, or returns null when no client produced a number.
 * Clients that did not run are listed in the panel with their status instead of a bar.
 */
export function renderScenarioSvg(result: ScenarioResult): string | null {
  const clients = result.clients;
  if (!clients.some((c) => c.status === 'ok' && c.samples.length > 0)) return null;
  const plotW = WIDTH - LABEL_W - VALUE_W - 20;
  const panelH = PANEL_HEAD + clients.length * (BAR_H + BAR_GAP) + 16;
  const height = TITLE_H + result.metrics.length * (panelH + PANEL_GAP);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="10" y="22" font-size="16" font-weight="bold">${esc(result.name)}</text>`);
  out.push(`<text x="10" y="38" fill="#4a5568">median bar, min–max whisker</text>`);

  result.metrics.forEach((metric, mi) => {
    const top = TITLE_H + mi * (panelH + PANEL_GAP);
    const stats = clients.map((c) =>
      c.status === 'ok' ? summarize(c.samples.map((s) => s[metric.key]).filter((v) => typeof v === 'number')) : null,
    );
    const maxV = niceMax(Math.max(0, ...stats.map((s) => (s && Number.isFinite(s.max) ? s.max : 0))));
    const x = (v: number): number => LABEL_W + (v / maxV) * plotW;
    const arrow = metric.better === 'higher' ? 'higher is better' : 'lower is better';
    out.push(
      `<text x="10" y="${top + 16}" font-weight="bold">${esc(metric.label)} (${esc(metric.unit)}, ${arrow})</text>`,
    );
    const axisTop = top + PANEL_HEAD - 8;
    const axisBottom = top + PANEL_HEAD + clients.length * (BAR_H + BAR_GAP);
    for (let t = 0; t <= 4; t++) {
      const v = (maxV * t) / 4;
      const gx = x(v).toFixed(1);
      out.push(`<line x1="${gx}" y1="${axisTop}" x2="${gx}" y2="${axisBottom}" stroke="#e2e8f0"/>`);
      out.push(
        `<text x="${gx}" y="${axisBottom + 12}" text-anchor="middle" fill="#718096" font-size="10">${esc(formatNumber(v))}</text>`,
      );
    }
    clients.forEach((c, ci) => {
      const y = top + PANEL_HEAD + ci * (BAR_H + BAR_GAP);
      const weight = c.client === SUBJECT ? ' font-weight="bold"' : '';
      out.push(`<text x="${LABEL_W - 8}" y="${y + BAR_H / 2 + 4}" text-anchor="end"${weight}>${esc(c.client)}</text>`);
      const s = stats[ci];
      if (!s || s.n === 0) {
        const why = c.status === 'ok' ? 'no data' : c.status === 'unavailable' ? 'not available' : c.status;
        out.push(`<text x="${LABEL_W + 4}" y="${y + BAR_H / 2 + 4}" fill="#c53030">${esc(why)}</text>`);
        return;
      }
      const color = COLORS[c.client] ?? '#4a5568';
      const w = Math.max(1, x(s.median) - LABEL_W);
      out.push(
        `<rect x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${color}"><title>${esc(
          `${c.client}: median ${formatNumber(s.median)}, min ${formatNumber(s.min)}, max ${formatNumber(s.max)} ${metric.unit} (${s.n} reps)`,
        )}</title></rect>`,
      );
      const wy = y + BAR_H / 2;
      const x0 = x(s.min).toFixed(1);
      const x1 = x(s.max).toFixed(1);
      out.push(`<line x1="${x0}" y1="${wy}" x2="${x1}" y2="${wy}" stroke="#1a202c" stroke-width="1.5"/>`);
      out.push(`<line x1="${x0}" y1="${wy - 6}" x2="${x0}" y2="${wy + 6}" stroke="#1a202c" stroke-width="1.5"/>`);
      out.push(`<line x1="${x1}" y1="${wy - 6}" x2="${x1}" y2="${wy + 6}" stroke="#1a202c" stroke-width="1.5"/>`);
      out.push(
        `<text x="${WIDTH - VALUE_W + 6}" y="${y + BAR_H / 2 + 4}">${esc(`${formatNumber(s.median)} ${metric.unit}`)}</text>`,
      );
    });
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
