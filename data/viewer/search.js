// The search page (/ and /search): Jaeger UI's search form and URL parameters (service, operation,
// tags as JSON, lookback, minDuration, maxDuration, limit, traceID), an errors-only switch (the tag
// error=true, as Jaeger UI writes it), a duration scatter plot, and pages of 20 result rows.
import { $, api, el, formatDate, formatDuration, link, plural, router, serviceColor } from './common.js';

const LOOKBACKS = [['5m', 'Last 5 minutes'], ['15m', 'Last 15 minutes'], ['1h', 'Last hour'], ['2h', 'Last 2 hours'], ['6h', 'Last 6 hours'], ['12h', 'Last 12 hours'], ['24h', 'Last 24 hours'], ['2d', 'Last 2 days']];
const DEFAULT_LIMIT = '1500';

/** Jaeger UI's tags box takes logfmt: key=value pairs separated by spaces, values in quotes may hold spaces. */
export function parseLogfmt(text) {
  const tags = {};
  const pattern = /\s*([^\s=]+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))/g;
  let match;
  while ((match = pattern.exec(text))) tags[match[1]] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3];
  return tags;
}

function toLogfmt(tags) {
  return Object.entries(tags)
    .map(([k, v]) => (/[\s"]/.test(v) || v === '' ? `${k}="${v.replace(/"/g, '\\"')}"` : `${k}=${v}`))
    .join(' ');
}

function formState(params) {
  let tags = {};
  try {
    tags = JSON.parse(params.get('tags') || '{}');
  } catch {
    tags = {};
  }
  const errorsOnly = tags.error === 'true';
  delete tags.error;
  return {
    service: params.get('service') || '',
    operation: params.get('operation') || '',
    tags: toLogfmt(tags),
    errorsOnly,
    lookback: params.get('lookback') || '1h',
    minDuration: params.get('minDuration') || '',
    maxDuration: params.get('maxDuration') || '',
    limit: params.get('limit') || DEFAULT_LIMIT,
    traceID: params.getAll('traceID').join(' '),
  };
}

/** The URL of a search, with Jaeger UI's parameter names. */
function searchUrl(state, offset = 0) {
  const params = new URLSearchParams();
  if (state.traceID.trim()) {
    for (const id of state.traceID.trim().split(/[\s,]+/)) params.append('traceID', id);
    return `/search?${params}`;
  }
  if (state.service) params.set('service', state.service);
  if (state.operation) params.set('operation', state.operation);
  const tags = parseLogfmt(state.tags);
  if (state.errorsOnly) tags.error = 'true';
  if (Object.keys(tags).length) params.set('tags', JSON.stringify(tags));
  params.set('lookback', state.lookback);
  if (state.minDuration) params.set('minDuration', state.minDuration);
  if (state.maxDuration) params.set('maxDuration', state.maxDuration);
  params.set('limit', state.limit || DEFAULT_LIMIT);
  if (offset) params.set('offset', String(offset));
  return `/search?${params}`;
}

function field(label, input) {
  return el('label', { class: 'field' }, el('span', {}, label), input);
}

async function buildForm(state) {
  const services = (await api('/api/services')).data ?? [];
  const operations = state.service ? ((await api(`/api/services/${encodeURIComponent(state.service)}/operations`)).data ?? []) : [];
  const select = (id, options, value) => el('select', { id, name: id }, ...options.map(([v, text]) => el('option', { value: v, selected: v === value }, text)));
  const input = (id, value, placeholder) => el('input', { id, name: id, value, placeholder, autocomplete: 'off' });
  const form = el(
    'form',
    { id: 'search-form' },
    field('Service', select('f-service', [['', 'all services'], ...services.map((s) => [s, s])], state.service)),
    field('Operation', select('f-operation', [['', 'all operations'], ...operations.map((o) => [o, o])], state.operation)),
    field('Tags', input('f-tags', state.tags, 'llm.model=gpt-4o error=true')),
    field('Lookback', select('f-lookback', LOOKBACKS, state.lookback)),
    field('Min duration', input('f-min', state.minDuration, 'e.g. 100ms, 1.2s')),
    field('Max duration', input('f-max', state.maxDuration, 'e.g. 2s')),
    field('Limit results', el('input', { id: 'f-limit', name: 'f-limit', type: 'number', min: '1', value: state.limit })),
    el('label', { class: 'check' }, el('input', { id: 'f-errors', type: 'checkbox', checked: state.errorsOnly }), ' errors only'),
    el('button', { type: 'submit', id: 'f-submit' }, 'Find traces'),
    el('div', { class: 'traceid' }, field('Trace ID', input('f-trace-id', state.traceID, '32 hex digits'))),
  );
  const read = () => ({
    service: $('f-service').value,
    operation: $('f-operation').value,
    tags: $('f-tags').value,
    errorsOnly: $('f-errors').checked,
    lookback: $('f-lookback').value,
    minDuration: $('f-min').value.trim(),
    maxDuration: $('f-max').value.trim(),
    limit: $('f-limit').value,
    traceID: $('f-trace-id').value,
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    router.navigate(searchUrl(read()));
  });
  form.querySelector('#f-service').addEventListener('change', () => router.navigate(searchUrl({ ...read(), operation: '', traceID: '' })));
  return form;
}

/** Start time across, duration up; one dot per trace (red with errors), each a link to it. */
function scatter(points) {
  const width = 900;
  const height = 160;
  const pad = { left: 60, right: 12, top: 10, bottom: 24 };
  if (points.length === 0) return el('div');
  const xs = points.map((p) => p.startTime);
  const minX = Math.min(...xs);
  const maxX = Math.max(...xs, minX + 1);
  const maxY = Math.max(...points.map((p) => p.duration), 1);
  const x = (v) => pad.left + ((v - minX) / (maxX - minX)) * (width - pad.left - pad.right);
  const y = (v) => height - pad.bottom - (v / maxY) * (height - pad.top - pad.bottom);
  const ordered = [...points].sort((a, b) => a.errors - b.errors); // error dots on top
  return el(
    'svg',
    { id: 'scatter', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `Duration of ${points.length} traces over time` },
    el('line', { x1: pad.left, y1: height - pad.bottom, x2: width - pad.right, y2: height - pad.bottom, class: 'axis' }),
    el('line', { x1: pad.left, y1: pad.top, x2: pad.left, y2: height - pad.bottom, class: 'axis' }),
    el('text', { x: pad.left - 6, y: pad.top + 8, 'text-anchor': 'end', class: 'tick' }, formatDuration(maxY)),
    el('text', { x: pad.left - 6, y: height - pad.bottom, 'text-anchor': 'end', class: 'tick' }, '0'),
    el('text', { x: pad.left, y: height - 6, class: 'tick' }, formatDate(minX)),
    el('text', { x: width - pad.right, y: height - 6, 'text-anchor': 'end', class: 'tick' }, formatDate(maxX)),
    ...ordered.map((p) => {
      const dot = el('circle', { cx: x(p.startTime).toFixed(1), cy: y(p.duration).toFixed(1), r: p.errors ? 5 : 4, class: p.errors ? 'dot error' : 'dot', 'data-trace-id': p.traceID }, el('title', {}, `${formatDuration(p.duration)}, ${plural(p.spans, 'span')}${p.errors ? `, ${plural(p.errors, 'error')}` : ''}`));
      dot.addEventListener('click', () => router.navigate(`/trace/${p.traceID}`));
      return dot;
    }),
  );
}

function resultRow(trace) {
  const href = `/trace/${trace.traceID}`;
  return el(
    'tr',
    { 'data-trace-id': trace.traceID, class: trace.errors ? 'has-error' : '' },
    el('td', { class: 'when' }, formatDate(trace.startTime)),
    el(
      'td',
      {},
      link(href, el('span', { class: 'svc', style: { color: serviceColor(trace.service) } }, trace.service), ' ', el('span', { class: 'op' }, trace.operation)),
      el('div', { class: 'chips' }, ...trace.services.map((s) => el('span', { class: 'chip', style: { borderColor: serviceColor(s.name) } }, `${s.name} (${s.spans})`))),
    ),
    el('td', { class: 'num' }, String(trace.spans)),
    el('td', { class: 'num' }, trace.errors ? el('span', { class: 'err' }, `✖ ${trace.errors}`) : ''),
    el('td', { class: 'num' }, formatDuration(trace.duration)),
    el('td', { class: 'id' }, link(href, trace.traceID.slice(0, 7))),
  );
}

function pager(state, page) {
  const first = page.total ? page.offset + 1 : 0;
  const last = Math.min(page.offset + page.pageSize, page.total);
  const prev = page.offset > 0 ? link(searchUrl(state, Math.max(0, page.offset - page.pageSize)), '← newer') : el('span', { class: 'muted' }, '← newer');
  const next = last < page.total ? link(searchUrl(state, page.offset + page.pageSize), 'older →') : el('span', { class: 'muted' }, 'older →');
  return el('div', { class: 'pager' }, prev, el('span', { id: 'page-info' }, `${first}–${last} of ${plural(page.total, 'trace')}`), next);
}

export async function renderSearch(container, params) {
  const state = formState(params);
  const offset = Number(params.get('offset')) || 0;
  const query = new URLSearchParams(params);
  query.set('offset', String(offset));
  if (!query.get('lookback') && !query.get('traceID')) query.set('lookback', state.lookback);
  if (!query.get('limit')) query.set('limit', state.limit);
  const [form, page] = await Promise.all([buildForm(state), api(`/api/loom/search?${query}`)]);
  const status = page.total
    ? `${plural(page.total, 'trace')} found${page.total >= Number(page.limit) ? ` (the limit; raise "Limit results" for more)` : ''}`
    : 'No traces match. Point an agent at the OTLP endpoint, or run `loom-otel send-test-trace`.';
  container.replaceChildren(
    form,
    el('p', { id: 'result-status', class: 'muted' }, status),
    scatter(page.points),
    page.total ? pager(state, page) : '',
    page.total
      ? el(
          'table',
          { id: 'results' },
          el('thead', {}, el('tr', {}, ...['Started', 'Trace', 'Spans', 'Errors', 'Duration', 'ID'].map((h, i) => el('th', { class: i >= 2 && i <= 4 ? 'num' : '' }, h)))),
          el('tbody', {}, ...page.traces.map(resultRow)),
        )
      : '',
  );
}
