/**
 * The bounded in-memory trace store of `up --local`. Memory is bounded by its limits, never by how many
 * spans were sent: at most `maxTraces` traces (the oldest, by first span seen, is evicted first), at most
 * `maxSpans` spans in all, and at most `maxSpansPerTrace` spans in one trace (later ones are refused, and
 * the sender told so through OTLP partial success).
 */
import { MAX_SPANS_PER_TRACE, SPAN_BUDGET_PER_TRACE } from './limits.js';
import type { StoredSpan } from './model.js';

export interface StoredTrace {
  traceId: string;
  spans: StoredSpan[];
  /** Earliest span start and latest span end, microseconds since the epoch. */
  startUs: number;
  endUs: number;
}

export interface TraceStoreLimits {
  maxTraces: number;
  maxSpansPerTrace: number;
  maxSpans: number;
}

export function storeLimits(maxTraces: number): TraceStoreLimits {
  return {
    maxTraces,
    maxSpansPerTrace: MAX_SPANS_PER_TRACE,
    maxSpans: Math.max(maxTraces * SPAN_BUDGET_PER_TRACE, MAX_SPANS_PER_TRACE),
  };
}

export class TraceStore {
  /** Insertion order is first-seen order: the first key is the oldest trace. */
  private readonly traces = new Map<string, StoredTrace>();
  /** service -> operation -> number of stored spans, so listing services never scans the store. */
  private readonly operationsByService = new Map<string, Map<string, number>>();
  private spans = 0;
  private evictedTraces = 0;

  constructor(readonly limits: TraceStoreLimits) {}

  get traceCount(): number {
    return this.traces.size;
  }

  get evicted(): number {
    return this.evictedTraces;
  }

  /** Stores the spans; returns how many were refused because their trace already holds maxSpansPerTrace. */
  add(spans: readonly StoredSpan[]): number {
    let refused = 0;
    for (const span of spans) {
      let trace = this.traces.get(span.traceId);
      if (!trace) {
        trace = { traceId: span.traceId, spans: [], startUs: span.startUs, endUs: span.startUs + span.durationUs };
        this.traces.set(span.traceId, trace);
      } else if (trace.spans.length >= this.limits.maxSpansPerTrace) {
        refused++;
        continue;
      }
      trace.spans.push(span);
      trace.startUs = Math.min(trace.startUs, span.startUs);
      trace.endUs = Math.max(trace.endUs, span.startUs + span.durationUs);
      this.spans++;
      this.countOperation(span, 1);
      this.evictOverLimits(span.traceId);
    }
    return refused;
  }

  get(traceId: string): StoredTrace | undefined {
    return this.traces.get(traceId);
  }

  /** Stored traces, newest (last first seen) first. */
  *newestFirst(): Generator<StoredTrace> {
    const all = [...this.traces.values()];
    for (let i = all.length - 1; i >= 0; i--) yield all[i]!;
  }

  services(): string[] {
    return [...this.operationsByService.keys()].sort();
  }

  operations(service: string): string[] {
    return [...(this.operationsByService.get(service)?.keys() ?? [])].sort();
  }

  private evictOverLimits(keep: string): void {
    while (this.traces.size > this.limits.maxTraces || this.spans > this.limits.maxSpans) {
      const oldest = this.traces.keys().next().value as string;
      // The trace being written is the only one left: its own cap bounds it.
      if (oldest === keep && this.traces.size === 1) return;
      this.evict(oldest);
    }
  }

  private evict(traceId: string): void {
    const trace = this.traces.get(traceId);
    if (!trace) return;
    this.traces.delete(traceId);
    this.spans -= trace.spans.length;
    this.evictedTraces++;
    for (const span of trace.spans) this.countOperation(span, -1);
  }

  private countOperation(span: StoredSpan, delta: 1 | -1): void {
    const service = span.resource.serviceName;
    let operations = this.operationsByService.get(service);
    if (!operations) {
      operations = new Map();
      this.operationsByService.set(service, operations);
    }
    const count = (operations.get(span.name) ?? 0) + delta;
    if (count > 0) operations.set(span.name, count);
    else operations.delete(span.name);
    if (operations.size === 0) this.operationsByService.delete(service);
  }
}
