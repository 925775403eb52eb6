// The service graph (/dependencies): Jaeger's /api/dependencies drawn as services in columns (callers
// left of the services they call) with an arrow and the call count per edge, and the same as a table.
import { api, el, plural, serviceColor } from './common.js';

function layers(links) {
  const nodes = [...new Set(links.flatMap((l) => [l.parent, l.child]))].sort();
  const depth = new Map(nodes.map((n) => [n, 0]));
  // Longest path from a caller, bounded by the node count so cycles end.
  for (let round = 0; round < nodes.length; round++) {
    for (const l of links) if (l.parent !== l.child && depth.get(l.child) <= depth.get(l.parent) && depth.get(l.parent) < nodes.length) depth.set(l.child, depth.get(l.parent) + 1);
  }
  const columns = [];
  for (const n of nodes) (columns[depth.get(n)] ??= []).push(n);
  return columns.filter(Boolean);
}

export async function renderGraph(container) {
  const links = (await api('/api/dependencies')).data ?? [];
  if (links.length === 0) {
    container.replaceChildren(el('h1', {}, 'Service graph'), el('p', { id: 'graph-status', class: 'muted' }, 'No calls between services yet (from the traces of the last 24 hours).'));
    return;
  }
  const columns = layers(links);
  const boxW = 180;
  const boxH = 36;
  const gapX = 140;
  const gapY = 30;
  const width = columns.length * (boxW + gapX) - gapX + 40;
  const height = Math.max(...columns.map((c) => c.length)) * (boxH + gapY) - gapY + 40;
  const at = new Map();
  columns.forEach((column, i) => column.forEach((name, j) => at.set(name, { x: 20 + i * (boxW + gapX), y: 20 + j * (boxH + gapY) })));
  const edges = links.map((l) => {
    const a = at.get(l.parent);
    const b = at.get(l.child);
    const [x1, y1, x2, y2] = [a.x + boxW, a.y + boxH / 2, b.x, b.y + boxH / 2];
    return el(
      'g',
      { class: 'edge', 'data-parent': l.parent, 'data-child': l.child },
      el('line', { x1, y1, x2: x2 - 2, y2, 'marker-end': 'url(#arrow)' }),
      el('text', { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 6, 'text-anchor': 'middle' }, String(l.callCount)),
    );
  });
  const nodes = [...at].map(([name, p]) =>
    el('g', { class: 'node', 'data-service': name }, el('rect', { x: p.x, y: p.y, width: boxW, height: boxH, rx: 6, style: { stroke: serviceColor(name) } }), el('text', { x: p.x + boxW / 2, y: p.y + boxH / 2 + 5, 'text-anchor': 'middle' }, name)),
  );
  container.replaceChildren(
    el('h1', {}, 'Service graph'),
    el('p', { id: 'graph-status', class: 'muted' }, `${plural(links.length, 'edge')} between ${plural(at.size, 'service')}, from the traces of the last 24 hours (Jaeger's /api/dependencies).`),
    el(
      'svg',
      { id: 'graph', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': 'Service dependency graph' },
      el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '10', refY: '5', markerWidth: '8', markerHeight: '8', orient: 'auto-start-reverse' }, el('path', { d: 'M 0 0 L 10 5 L 0 10 z' })),
      ...edges,
      ...nodes,
    ),
    el(
      'table',
      { id: 'edges' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Caller'), el('th', {}, 'Called'), el('th', { class: 'num' }, 'Calls'))),
      el('tbody', {}, ...links.map((l) => el('tr', {}, el('td', {}, l.parent), el('td', {}, l.child), el('td', { class: 'num' }, String(l.callCount))))),
    ),
  );
}
