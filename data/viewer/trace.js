// The trace page (/trace/{id}): a time ruler, one colour per service, collapsible subtrees, each span's
// start offset and duration, LLM / agent / tool spans summarised at a glance (Loom's llm.* and the
// GenAI gen_ai.* attributes), details with multi-line values as written, and the trace as JSON.
import { api, el, formatDate, formatDuration, link, plural, serviceColor } from './common.js';

const tagValue = (span, ...keys) => {
  for (const key of keys) {
    const tag = span.tags.find((t) => t.key === key);
    if (tag && tag.value !== '' && tag.value !== undefined && tag.value !== null) return tag.value;
  }
  return undefined;
};

const isError = (span) => span.tags.some((t) => t.key === 'error' && t.value === true);
const operation = (span) => tagValue(span, 'gen_ai.operation.name') ?? span.operationName.split(' ')[0];

/** What a person wants to see first on an LLM, agent or tool span; undefined for other spans. */
export function glance(span) {
  const op = operation(span);
  if (span.operationName.startsWith('llm.') || ['chat', 'text_completion', 'generate_content', 'embeddings'].includes(op)) {
    const model = tagValue(span, 'llm.model', 'gen_ai.request.model', 'gen_ai.response.model');
    const provider = tagValue(span, 'llm.provider', 'gen_ai.provider.name', 'gen_ai.system');
    const input = tagValue(span, 'gen_ai.usage.input_tokens', 'llm.usage.prompt_tokens', 'llm.prompt_tokens');
    const output = tagValue(span, 'gen_ai.usage.output_tokens', 'llm.usage.completion_tokens', 'llm.completion_tokens');
    const tokens = input !== undefined || output !== undefined ? `${input ?? '?'} → ${output ?? '?'} tokens` : undefined;
    return { kind: 'llm', parts: [model, provider, tokens].filter((p) => p !== undefined).map(String) };
  }
  if (span.operationName === 'cognitive.run' || op === 'invoke_agent') {
    const agent = tagValue(span, 'agent.id', 'gen_ai.agent.name', 'gen_ai.agent.id');
    const iterations = tagValue(span, 'iterations');
    const success = tagValue(span, 'success');
    return { kind: 'agent', parts: [agent, iterations !== undefined ? plural(Number(iterations), 'iteration') : undefined, success !== undefined ? (success ? 'succeeded' : 'failed') : undefined].filter(Boolean).map(String) };
  }
  if (['tool.invoke', 'cognitive.tool_call'].includes(span.operationName) || op === 'execute_tool') {
    const tool = tagValue(span, 'tool.name', 'gen_ai.tool.name');
    const status = tagValue(span, 'tool.status', 'tool.success');
    return { kind: 'tool', parts: [tool, status !== undefined ? `status ${status}` : undefined].filter(Boolean).map(String) };
  }
  return undefined;
}

function valueCell(value) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return el('td', {}, el('pre', { class: 'value' }, text));
}

function tagTable(tags) {
  return el('table', { class: 'tags' }, ...tags.map((t) => el('tr', {}, el('td', { class: 'key' }, t.key), valueCell(t.value))));
}

function details(span, trace, start) {
  const process = trace.processes[span.processID] ?? { serviceName: '', tags: [] };
  return el(
    'div',
    { class: 'details' },
    el('p', { class: 'muted' }, `span ${span.spanID} · starts at +${formatDuration(span.startTime - start)} · ${formatDuration(span.duration)} · ${formatDate(span.startTime)}`),
    el('h3', {}, 'Tags'),
    tagTable(span.tags),
    el('h3', {}, `Process: ${process.serviceName}`),
    tagTable(process.tags ?? []),
    ...(span.logs.length ? [el('h3', {}, 'Events'), ...span.logs.map((log) => tagTable([{ key: 'at', value: `+${formatDuration(log.timestamp - span.startTime)}` }, ...log.fields]))] : []),
  );
}

function ruler(total) {
  return el(
    'div',
    { class: 'row ruler', 'aria-hidden': 'true' },
    el('div', { class: 'name muted' }, 'Service · operation'),
    el('div', { class: 'timeline' }, ...[0, 0.25, 0.5, 0.75, 1].map((f) => el('span', { class: 'tick', style: { left: `${f * 100}%` } }, formatDuration(total * f)))),
    el('div', { class: 'dur muted' }, 'start · duration'),
  );
}

function tree(trace) {
  const ids = new Set(trace.spans.map((s) => s.spanID));
  const children = new Map();
  for (const span of trace.spans) {
    const parent = span.references.find((r) => r.refType === 'CHILD_OF' && ids.has(r.spanID))?.spanID ?? null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(span);
  }
  for (const list of children.values()) list.sort((a, b) => a.startTime - b.startTime);
  const ordered = [];
  const seen = new Set();
  const visit = (parent, depth, ancestors) => {
    for (const span of children.get(parent) ?? []) {
      if (seen.has(span.spanID)) continue;
      seen.add(span.spanID);
      ordered.push({ span, depth, ancestors, hasChildren: (children.get(span.spanID) ?? []).length > 0 });
      visit(span.spanID, depth + 1, [...ancestors, span.spanID]);
    }
  };
  visit(null, 0, []);
  return ordered;
}

function waterfall(trace, start, total) {
  const collapsed = new Set();
  const entries = tree(trace);
  const rows = [];
  const refresh = () => {
    for (const { row, entry, toggle } of rows) {
      row.hidden = entry.ancestors.some((id) => collapsed.has(id));
      if (row.hidden && row.nextSibling?.classList?.contains('details')) row.nextSibling.remove();
      if (toggle) {
        const closed = collapsed.has(entry.span.spanID);
        toggle.textContent = closed ? '▸' : '▾';
        toggle.setAttribute('aria-expanded', String(!closed));
      }
    }
  };
  for (const entry of entries) {
    const { span, depth, hasChildren } = entry;
    const service = trace.processes[span.processID]?.serviceName ?? '';
    const color = serviceColor(service);
    const info = glance(span);
    const toggle = hasChildren
      ? el('button', {
          class: 'toggle',
          title: 'Collapse or expand the spans below',
          onclick: (event) => {
            event.stopPropagation();
            if (collapsed.has(span.spanID)) collapsed.delete(span.spanID);
            else collapsed.add(span.spanID);
            refresh();
          },
        })
      : el('span', { class: 'toggle-space' });
    const row = el(
      'div',
      { class: `row${isError(span) ? ' error' : ''}`, role: 'row', 'data-span-id': span.spanID, 'data-service': service },
      el(
        'div',
        { class: 'name', style: { paddingLeft: `${4 + depth * 14}px`, borderLeftColor: color }, title: `${service} ${span.operationName}` },
        toggle,
        el('span', { class: 'svc', style: { color } }, service),
        el('span', { class: 'op' }, span.operationName),
        isError(span) ? el('span', { class: 'err' }, ' ✖') : null,
        info ? el('span', { class: `glance ${info.kind}` }, info.parts.join(' · ')) : null,
      ),
      el('div', { class: 'timeline' }, el('div', { class: 'bar', style: { left: `${((span.startTime - start) / total) * 100}%`, width: `${Math.max((span.duration / total) * 100, 0.2)}%`, background: color } })),
      el('div', { class: 'dur' }, el('span', { class: 'offset' }, `+${formatDuration(span.startTime - start)}`), ' ', formatDuration(span.duration)),
    );
    row.addEventListener('click', () => {
      const open = row.nextSibling?.classList?.contains('details') ? row.nextSibling : null;
      if (open) open.remove();
      else row.after(details(span, trace, start));
    });
    rows.push({ row, entry, toggle: hasChildren ? toggle : null });
  }
  refresh();
  const controls = el(
    'div',
    { class: 'tree-controls' },
    el('button', { id: 'collapse-all', onclick: () => { for (const e of entries) if (e.hasChildren) collapsed.add(e.span.spanID); refresh(); } }, 'Collapse all'),
    el('button', { id: 'expand-all', onclick: () => { collapsed.clear(); refresh(); } }, 'Expand all'),
  );
  return [controls, el('div', { id: 'waterfall', role: 'table', 'aria-label': 'Spans of the trace' }, ruler(total), ...rows.map((r) => r.row))];
}

export async function renderTrace(container, traceId) {
  let trace;
  try {
    [trace] = (await api(`/api/traces/${encodeURIComponent(traceId)}`)).data;
  } catch (error) {
    container.replaceChildren(el('p', { id: 'trace-missing' }, `Trace ${traceId}: ${error.message}. Spans can take a moment to arrive; reload to try again.`), link('/search', 'Back to the search'));
    return;
  }
  const start = Math.min(...trace.spans.map((s) => s.startTime));
  const end = Math.max(...trace.spans.map((s) => s.startTime + s.duration));
  const total = Math.max(end - start, 1);
  const ids = new Set(trace.spans.map((s) => s.spanID));
  const root = trace.spans.filter((s) => !s.references.some((r) => r.refType === 'CHILD_OF' && ids.has(r.spanID))).sort((a, b) => a.startTime - b.startTime)[0] ?? trace.spans[0];
  const rootService = trace.processes[root.processID]?.serviceName ?? '';
  const errors = trace.spans.filter(isError).length;
  const services = [...new Set(Object.values(trace.processes).map((p) => p.serviceName))].sort();
  container.replaceChildren(
    el('h1', { id: 'trace-title' }, el('span', { style: { color: serviceColor(rootService) } }, rootService), `: ${root.operationName}`),
    el(
      'p',
      { id: 'trace-summary', class: 'muted' },
      `Trace ${trace.traceID} · ${plural(trace.spans.length, 'span')} · ${formatDuration(end - start)} · started ${formatDate(start)}${errors ? ` · ${plural(errors, 'error')}` : ''} · `,
      el('a', { id: 'download-json', href: `/api/traces/${trace.traceID}`, download: `trace-${trace.traceID}.json` }, 'Download JSON'),
    ),
    el('p', { class: 'legend' }, ...services.map((s) => el('span', { class: 'chip', style: { borderColor: serviceColor(s), color: serviceColor(s) } }, s))),
    ...waterfall(trace, start, total),
  );
}
