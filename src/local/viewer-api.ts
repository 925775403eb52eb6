/**
 * The one request the trace viewer makes per refresh: `GET /api/local/recent?limit=N[&service=S]` answers
 * the service list and a summary of the newest traces together, in Jaeger's envelope. Not part of Jaeger's
 * API (which searches one service at a time: with 500 services that was 500 requests every 3 s).
 */
import { jaegerTraceId, NO_SERVICE_NAME, services, serviceName } from './jaeger.js';
import type { StoredTrace, TraceStore } from './store.js';

export const RECENT_TRACES_PATH = '/api/local/recent';
const DEFAULT_RECENT = 50;
const MAX_RECENT = 1000;

export interface TraceSummary {
  traceID: string;
  service: string;
  operationName: string;
  /** Microseconds since the epoch. */
  startTime: number;
  duration: number;
  spans: number;
  errors: number;
}

export interface RecentTraces {
  services: string[];
  traces: TraceSummary[];
}

function summarize(trace: StoredTrace): TraceSummary {
  const ids = new Set(trace.spans.map((s) => s.spanId));
  const roots = trace.spans.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId));
  const root = (roots.length > 0 ? roots : trace.spans).reduce((a, b) => (b.startUs < a.startUs ? b : a));
  return {
    traceID: jaegerTraceId(trace.traceId),
    service: serviceName(root.resource),
    operationName: root.name,
    startTime: trace.startUs,
    duration: trace.endUs - trace.startUs,
    spans: trace.spans.length,
    errors: trace.spans.filter((s) => s.statusCode === 2).length,
  };
}

export function recentTraces(store: TraceStore, params: URLSearchParams): RecentTraces {
  const limit = Math.min(Math.max(Number.parseInt(params.get('limit') ?? '', 10) || DEFAULT_RECENT, 1), MAX_RECENT);
  const service = params.get('service') || undefined;
  const wanted = service === NO_SERVICE_NAME ? '' : service;
  const traces: TraceSummary[] = [];
  for (const trace of store.newestFirst()) {
    if (traces.length >= limit) break;
    if (wanted !== undefined && !trace.spans.some((s) => s.resource.serviceName === wanted)) continue;
    traces.push(summarize(trace));
  }
  traces.sort((a, b) => b.startTime - a.startTime);
  return { services: services(store), traces };
}
