// The trace viewer of `loom-otel up --local`: lists recent traces and draws one as a waterfall, reading
// only the Jaeger query API served next to it (/api/services, /api/traces). Plain DOM, no framework;
// every value from a span is inserted as text, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 3000;
const LIST_LIMIT = 50;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') node.className = value;
    else if (key === 'style') Object.assign(node.style, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function formatDuration(us) {
  if (us < 1000) return `${Math.round(us)}µs`;
  if (us < 1e6) return `${(us / 1000).toFixed(us < 10000 ? 1 : 0)}ms`;
  return `${(us / 1e6).toFixed(2)}s`;
}

async function api(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.errors?.[0]?.msg ?? `HTTP ${response.status}`);
  return body.data;
}

function isError(span) {
  return span.tags.some((t) => t.key === 'error' && t.value === true);
}

/** Root span, start, end and error count of a Jaeger trace. */
function summarize(trace) {
  const ids = new Set(trace.spans.map((s) => s.spanID));
  const parentOf = (s) => s.references.find((r) => r.refType === 'CHILD_OF' && ids.has(r.spanID))?.spanID;
  const roots = trace.spans.filter((s) => !parentOf(s));
  const root = (roots.length ? roots : trace.spans).reduce((a, b) => (b.startTime < a.startTime ? b : a));
  const start = Math.min(...trace.spans.map((s) => s.startTime));
  const end = Math.max(...trace.spans.map((s) => s.startTime + s.duration));
  return { root, start, end, errors: trace.spans.filter(isError).length, service: trace.processes[root.processID]?.serviceName ?? '' };
}

// ---- list of recent traces ----
let timer;

function fillServices(services) {
  const select = $('service');
  const current = select.value;
  select.replaceChildren(el('option', { value: '' }, 'all services'), ...services.map((s) => el('option', { value: s }, s)));
  select.value = services.includes(current) ? current : '';
}

// One request per refresh, whatever the number of services: the service list and the newest traces' summaries.
async function showList() {
  $('trace').hidden = true;
  $('controls').hidden = false;
  const wanted = $('service').value;
  const recent = await api(`/api/local/recent?limit=${LIST_LIMIT}${wanted ? `&service=${encodeURIComponent(wanted)}` : ''}`);
  fillServices(recent.services);
  const traces = recent.traces;
  $('status').textContent = traces.length
    ? `${traces.length} most recent trace${traces.length === 1 ? '' : 's'}`
    : 'No traces yet. Point an agent at the OTLP endpoint, or run `loom-otel send-test-trace`.';
  $('traces').replaceChildren(
    ...traces.map(({ traceID, operationName, startTime, duration, spans, errors, service }) =>
      el(
        'tr',
        { onclick: () => navigate(`/trace/${traceID}`), 'data-trace-id': traceID },
        el('td', {}, new Date(startTime / 1000).toLocaleTimeString()),
        el('td', {}, el('span', { class: 'svc' }, service), operationName),
        el('td', { class: 'num' }, String(spans)),
        el('td', { class: 'num' }, formatDuration(duration)),
        el('td', {}, errors ? el('span', { class: 'err' }, `✖ ${errors}`) : ''),
      ),
    ),
  );
  $('list').hidden = false;
}

// ---- one trace as a waterfall ----
function tagTable(tags) {
  return el('table', {}, ...tags.map((t) => el('tr', {}, el('td', {}, t.key), el('td', {}, String(t.value)))));
}

function details(span, trace) {
  const process = trace.processes[span.processID] ?? { serviceName: '', tags: [] };
  return el(
    'div',
    { class: 'details' },
    el('h3', {}, 'Tags'),
    tagTable(span.tags),
    el('h3', {}, `Process: ${process.serviceName}`),
    tagTable(process.tags),
    ...(span.logs.length
      ? [el('h3', {}, 'Events'), ...span.logs.map((log) => tagTable([{ key: 'time', value: `+${formatDuration(log.timestamp - span.startTime)}` }, ...log.fields]))]
      : []),
    el('p', { class: 'muted' }, `span ${span.spanID}`),
  );
}

function waterfallRows(trace) {
  const { start, end } = summarize(trace);
  const total = Math.max(end - start, 1);
  const ids = new Set(trace.spans.map((s) => s.spanID));
  const children = new Map();
  for (const span of trace.spans) {
    const parent = span.references.find((r) => r.refType === 'CHILD_OF' && ids.has(r.spanID))?.spanID ?? null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(span);
  }
  for (const list of children.values()) list.sort((a, b) => a.startTime - b.startTime);
  const rows = [];
  const seen = new Set();
  const visit = (parent, depth) => {
    for (const span of children.get(parent) ?? []) {
      if (seen.has(span.spanID)) continue;
      seen.add(span.spanID);
      const service = trace.processes[span.processID]?.serviceName ?? '';
      const row = el(
        'div',
        { class: `row${isError(span) ? ' error' : ''}`, role: 'row', 'data-span-id': span.spanID },
        el(
          'div',
          { class: 'name', style: { paddingLeft: `${8 + depth * 16}px` }, title: `${service} ${span.operationName}` },
          el('span', { class: 'svc' }, service),
          el('span', { class: 'op' }, span.operationName),
          isError(span) ? el('span', { class: 'err' }, ' ✖') : null,
        ),
        el(
          'div',
          { class: 'timeline' },
          el('div', { class: 'bar', style: { left: `${((span.startTime - start) / total) * 100}%`, width: `${(span.duration / total) * 100}%` } }),
        ),
        el('div', { class: 'dur' }, formatDuration(span.duration)),
      );
      let open = null;
      row.addEventListener('click', () => {
        if (open) {
          open.remove();
          open = null;
        } else {
          open = details(span, trace);
          row.after(open);
        }
      });
      rows.push(row);
      visit(span.spanID, depth + 1);
    }
  };
  visit(null, 0);
  return rows;
}

async function showTrace(traceId) {
  $('list').hidden = true;
  $('controls').hidden = true;
  let trace;
  try {
    [trace] = await api(`/api/traces/${encodeURIComponent(traceId)}`);
  } catch (error) {
    $('status').textContent = `Trace ${traceId}: ${error.message}. Spans can take a moment to arrive; reload to try again.`;
    $('trace').hidden = true;
    return;
  }
  const { root, start, end, errors, service } = summarize(trace);
  $('status').textContent = '';
  $('trace-title').textContent = `${service}: ${root.operationName}`;
  $('trace-summary').textContent =
    `Trace ${trace.traceID} · ${trace.spans.length} spans · ${formatDuration(end - start)} · started ${new Date(start / 1000).toLocaleString()}` +
    (errors ? ` · ${errors} error${errors === 1 ? '' : 's'}` : '');
  $('waterfall').replaceChildren(...waterfallRows(trace));
  $('trace').hidden = false;
}

// ---- routing: / lists, /trace/{id} shows one trace (the same URLs as Jaeger's UI) ----
function route() {
  clearInterval(timer);
  const match = /^\/trace\/([0-9a-fA-F]{1,32})\/?$/.exec(location.pathname);
  const render = match ? () => showTrace(match[1]) : () => showList();
  render().catch((error) => ($('status').textContent = `Cannot read traces: ${error.message}`));
  if (!match) {
    timer = setInterval(() => {
      if ($('auto').checked) showList().catch(() => {});
    }, REFRESH_MS);
  }
}

function navigate(path) {
  history.pushState(null, '', path);
  route();
}

$('service').addEventListener('change', () => showList());
window.addEventListener('popstate', route);
route();
