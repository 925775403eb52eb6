/**
 * The viewer's pages and static files beyond the original list page. The charting library (uPlot, MIT)
 * is not committed: `npm run build` copies it from node_modules into data/viewer/vendor/ (see
 * scripts/copy-viewer-vendor.mjs), so the package serves it offline with no runtime dependency.
 */
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

export const VIEWER_ASSETS: Readonly<Record<string, string>> = {
  'common.js': JS,
  'search.js': JS,
  'trace.js': JS,
  'graph.js': JS,
  'metrics.js': JS,
  'vendor/uPlot.iife.min.js': JS,
  'vendor/uPlot.min.css': CSS,
  'vendor/uPlot.LICENSE': 'text/plain; charset=utf-8',
};

/** Paths that load the viewer's page (it routes on the path): Jaeger UI's /search and /dependencies, and /metrics. */
export const VIEWER_PAGES: ReadonlySet<string> = new Set(['/search', '/dependencies', '/metrics']);
