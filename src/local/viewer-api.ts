/**
 * The routes the viewer adds to Jaeger's query API: `/api/dependencies` (Jaeger's own), and under
 * `/api/loom/` what Jaeger's API has no word for: a paged search of summaries and the agents
 * dashboard's series. Undefined for any other path, so jaeger-http.ts answers it.
 */
import { agentMetrics } from './agent-metrics.js';
import { DEFAULT_DEPENDENCY_LOOKBACK_MS, dependencyLinks } from './dependencies.js';
import { failure, ok, SearchError, type JaegerResponse } from './jaeger.js';
import { searchPage } from './search.js';
import type { TraceStore } from './store.js';

function millis(params: URLSearchParams, name: string, fallback: number): number {
  const raw = params.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new SearchError(`unable to parse param '${name}': strconv.ParseInt: parsing "${raw}": invalid syntax`);
  return Number(raw);
}

export function viewerApiResponse(store: TraceStore, url: URL): { status: number; body: JaegerResponse<unknown> | Record<string, unknown> } | undefined {
  const route = url.pathname.replace(/\/+$/, '');
  try {
    if (route === '/api/dependencies') {
      const now = Date.now();
      const links = dependencyLinks(store, millis(url.searchParams, 'endTs', now), millis(url.searchParams, 'lookback', DEFAULT_DEPENDENCY_LOOKBACK_MS));
      return { status: 200, body: ok(links) }; // Jaeger leaves total at 0 here
    }
    if (route === '/api/loom/search') return { status: 200, body: { ...searchPage(store, url.searchParams, Date.now() * 1000) } };
    if (route === '/api/loom/agent-metrics') return { status: 200, body: { ...agentMetrics(store, url.searchParams, Date.now()) } };
  } catch (error) {
    if (error instanceof SearchError) return { status: 400, body: failure(400, error.message) };
    throw error;
  }
  return undefined;
}
