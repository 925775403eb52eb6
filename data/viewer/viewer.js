// The trace viewer of `loom-otel up --local`: routes on the path, with Jaeger UI's URLs where it has
// them (/search, /trace/{id}, /dependencies) and /metrics for the agents dashboard. Reads only the API
// served next to it. Plain DOM, no framework; every value from a span is inserted as text.
import { $, router } from './common.js';
import { renderGraph } from './graph.js';
import { renderMetrics } from './metrics.js';
import { renderSearch } from './search.js';
import { renderTrace } from './trace.js';

const REFRESH_MS = 5000;
let timer;

function pageFor(pathname) {
  const trace = /^\/trace\/([0-9a-fA-F]{1,32})\/?$/.exec(pathname);
  if (trace) return { name: 'trace', render: (c) => renderTrace(c, trace[1]), refresh: false };
  if (pathname === '/dependencies') return { name: 'dependencies', render: (c) => renderGraph(c), refresh: true };
  if (pathname === '/metrics') return { name: 'metrics', render: (c, p) => renderMetrics(c, p), refresh: true };
  return { name: 'search', render: (c, p) => renderSearch(c, p), refresh: true };
}

async function route() {
  clearInterval(timer);
  delete document.body.dataset.ready; // set again once the page has drawn (tests and scripts wait for it)
  const page = pageFor(location.pathname);
  const params = new URLSearchParams(location.search);
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.page === page.name);
  const container = $('page');
  const draw = async () => {
    await page.render(container, params);
    $('status').textContent = '';
    document.body.dataset.ready = page.name;
  };
  try {
    await draw();
  } catch (error) {
    $('status').textContent = `Cannot read traces: ${error.message}`;
  }
  // Refresh only while nobody is typing into the page and only on a first page of results.
  if (page.refresh && !params.get('offset')) {
    timer = setInterval(() => {
      if ($('auto').checked && !container.contains(document.activeElement)) draw().catch(() => {});
    }, REFRESH_MS);
  }
}

router.navigate = (path) => {
  history.pushState(null, '', path);
  route();
};
for (const a of document.querySelectorAll('#nav a')) {
  a.addEventListener('click', (event) => {
    event.preventDefault();
    router.navigate(a.getAttribute('href'));
  });
}
window.addEventListener('popstate', route);
route();
