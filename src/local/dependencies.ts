/**
 * `GET /api/dependencies?endTs=<ms>&lookback=<ms>` as Jaeger serves it: one `{parent, child, callCount}`
 * per pair of different services where a span of `parent` has a child span in `child`, counted over
 * every span of the stored traces that have a span starting in the window. Jaeger's in-memory store
 * computes it the same way (GetDependencies: traceIsBetweenStartAndEnd, same-service pairs skipped).
 */
import { serviceName } from './jaeger.js';
import type { TraceStore } from './store.js';

export interface DependencyLink {
  parent: string;
  child: string;
  callCount: number;
}

/** Jaeger's default lookback for the dependency graph: one day. */
export const DEFAULT_DEPENDENCY_LOOKBACK_MS = 24 * 3600 * 1000;

export function dependencyLinks(store: TraceStore, endMs: number, lookbackMs: number): DependencyLink[] {
  const fromUs = (endMs - lookbackMs) * 1000;
  const toUs = endMs * 1000;
  const counts = new Map<string, DependencyLink>();
  for (const trace of store.newestFirst()) {
    if (!trace.spans.some((s) => s.startUs > fromUs && s.startUs < toUs)) continue;
    const serviceOf = new Map(trace.spans.map((s) => [s.spanId, serviceName(s.resource)]));
    for (const span of trace.spans) {
      const parent = span.parentSpanId ? serviceOf.get(span.parentSpanId) : undefined;
      const child = serviceName(span.resource);
      if (parent === undefined || parent === child) continue;
      const key = JSON.stringify([parent, child]);
      const link = counts.get(key) ?? { parent, child, callCount: 0 };
      link.callCount += 1;
      counts.set(key, link);
    }
  }
  return [...counts.values()].sort((a, b) => a.parent.localeCompare(b.parent) || a.child.localeCompare(b.child));
}
