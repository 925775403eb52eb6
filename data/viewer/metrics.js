// The metrics page (/metrics): the Loom agents dashboard's panels as charts (uPlot, served from
// /static/vendor: no CDN), from the series up --local computes out of the spans it keeps.
import { api, el, serviceColor } from './common.js';

const PANELS = [
  ['agentRunsPerSecond', 'Agent runs per second', 'runs/s', 'by agent'],
  ['agentRunP95Ms', 'Agent run duration p95', 'ms', 'by agent'],
  ['llmCallsPerSecond', 'LLM calls per second', 'calls/s', 'by model'],
  ['llmLatencyP95Ms', 'LLM latency p95', 'ms', 'by model'],
  ['llmErrorRate', 'LLM error rate', 'share', 'by model'],
  ['tokensPerSecond', 'Tokens per second', 'tokens/s', 'by model, input + output'],
  ['toolCallsPerSecond', 'Tool calls per second', 'calls/s', 'by tool'],
  ['toolErrorsPerSecond', 'Tool errors per second', 'errors/s', 'by tool'],
];

const LOOKBACKS = [['5m', '5s'], ['15m', '15s'], ['1h', '1m'], ['6h', '5m']];

function chart(target, title, unit, timestamps, bySeries) {
  const names = Object.keys(bySeries).sort();
  const width = Math.max(320, target.clientWidth - 8);
  const options = {
    title,
    width,
    height: 220,
    series: [{}, ...names.map((name) => ({ label: name, stroke: serviceColor(name), width: 2, spanGaps: false, points: { show: true, size: 6 } }))],
    axes: [{}, { label: unit, size: 60 }],
    scales: { x: { time: true } },
  };
  // eslint-disable-next-line no-undef
  return new uPlot(options, [timestamps, ...names.map((name) => bySeries[name])], target);
}

let charts = [];

export async function renderMetrics(container, params) {
  const lookback = LOOKBACKS.some(([l]) => l === params.get('lookback')) ? params.get('lookback') : '15m';
  const step = LOOKBACKS.find(([l]) => l === lookback)[1];
  const data = await api(`/api/loom/agent-metrics?lookback=${lookback}&step=${step}`);
  for (const c of charts) c.destroy();
  charts = [];
  const select = el('select', { id: 'm-lookback' }, ...LOOKBACKS.map(([l]) => el('option', { value: l, selected: l === lookback }, `Last ${l}`)));
  select.addEventListener('change', () => history.replaceState(null, '', `/metrics?lookback=${select.value}`) || renderMetrics(container, new URLSearchParams({ lookback: select.value })));
  const grid = el('div', { class: 'charts' });
  container.replaceChildren(
    el('h1', {}, 'Loom agents'),
    el('p', { class: 'muted' }, `The Grafana dashboard's panels, computed from the spans up --local keeps, in steps of ${step}. `, select),
    grid,
  );
  for (const [key, title, unit, note] of PANELS) {
    const series = data[key] ?? {};
    const values = Object.values(series).flat().filter((v) => v !== null && v !== 0).length;
    const box = el('div', { class: 'chart', 'data-panel': key, 'data-series': String(Object.keys(series).length), 'data-values': String(values) });
    grid.append(box);
    if (Object.keys(series).length === 0) {
      box.append(el('h3', {}, title), el('p', { class: 'muted empty' }, `No data ${note} in this window.`));
      continue;
    }
    charts.push(chart(box, `${title} (${note})`, unit, data.timestamps, series));
  }
}
