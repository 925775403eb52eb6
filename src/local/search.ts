/**
 * The viewer's search (`GET /api/loom/search`): Jaeger's /api/traces parameters (service optional here,
 * operation, tags, minDuration, maxDuration, start/end or lookback, limit; traceID for given traces),
 * answered with one summary row per trace and a page of them (`offset`, `pageSize`), so a refresh of
 * the search page is one small request however many traces match.
 */
import { matchingTraces, normalizeTraceId, parseTraceSearch, serviceName, SearchError } from './jaeger.js';
import type { StoredTrace, TraceStore } from './store.js';

export const PAGE_SIZE = 20;
/** Results kept per search unless `limit` says otherwise (Jaeger UI's largest choice). */
export const VIEWER_SEARCH_LIMIT = 1500;

export interface TraceSummary {
  traceID: string;
  service: string;
  operation: string;
  /** Microseconds since the epoch. */
  startTime: number;
  /** Microseconds. */
  duration: number;
  spans: number;
  errors: number;
  services: Array<{ name: string; spans: number }>;
}

export interface SearchPage {
  /** Traces matching (at most `limit`). */
  total: number;
  offset: number;
  pageSize: number;
  limit: number;
  traces: TraceSummary[];
  /** Every match's start and duration, for the scatter plot (all pages). */
  points: Array<{ traceID: string; startTime: number; duration: number; errors: number; spans: number }>;
}

function summarize(trace: StoredTrace): TraceSummary {
  const ids = new Set(trace.spans.map((s) => s.spanId));
  const roots = trace.spans.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId));
  const root = (roots.length ? roots : trace.spans).reduce((a, b) => (b.startUs < a.startUs ? b : a));
  const byService = new Map<string, number>();
  for (const span of trace.spans) {
    const name = serviceName(span.resource);
    byService.set(name, (byService.get(name) ?? 0) + 1);
  }
  return {
    traceID: trace.traceId,
    service: serviceName(root.resource),
    operation: root.name,
    startTime: trace.startUs,
    duration: trace.endUs - trace.startUs,
    spans: trace.spans.length,
    errors: trace.spans.filter((s) => s.statusCode === 2).length,
    services: [...byService].map(([name, spans]) => ({ name, spans })).sort((a, b) => a.name.localeCompare(b.name)),
  };
}

function count(params: URLSearchParams, name: string, fallback: number, max: number): number {
  const raw = params.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new SearchError(`unable to parse param '${name}': "${raw}" is not a whole number`);
  return Math.min(Number(raw), max);
}

export function searchPage(store: TraceStore, params: URLSearchParams, nowUs: number): SearchPage {
  const limit = count(params, 'limit', VIEWER_SEARCH_LIMIT, 100_000) || VIEWER_SEARCH_LIMIT;
  const offset = count(params, 'offset', 0, Number.MAX_SAFE_INTEGER);
  const pageSize = count(params, 'pageSize', PAGE_SIZE, 500) || PAGE_SIZE;
  const ids = params.getAll('traceID').filter(Boolean);
  let found: StoredTrace[];
  if (ids.length > 0) {
    found = [];
    for (const id of ids) {
      const traceId = normalizeTraceId(id);
      if (!traceId) throw new SearchError(`cannot parse traceID param: "${id}" is not a hex trace id`);
      const trace = store.get(traceId);
      if (trace) found.push(trace);
    }
  } else {
    found = matchingTraces(store, parseTraceSearch(params, nowUs, { serviceRequired: false })).slice(0, limit);
  }
  const summaries = found.map(summarize);
  return {
    total: summaries.length,
    offset,
    pageSize,
    limit,
    traces: summaries.slice(offset, offset + pageSize),
    points: summaries.map(({ traceID, startTime, duration, errors, spans }) => ({ traceID, startTime, duration, errors, spans })),
  };
}
