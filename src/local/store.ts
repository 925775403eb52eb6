/**
 * The bounded in-memory trace store of `up --local`. Memory is bounded by its limits, never by how many
 * spans were sent: the bytes of the shared memory budget (src/local/memory-budget.ts), at most
 * `maxTraces` traces (the oldest, by first span seen, is evicted first), at most `maxSpans` spans in all,
 * and at most `maxSpansPerTrace` spans in one trace. Spans that cannot be kept are refused, and the sender
 * told so through OTLP partial success.
 */
import { MAX_SPANS_PER_TRACE, SPAN_BUDGET_PER_TRACE } from './limits.js';
import { OBJECT_BYTES, stringBytes, type BudgetAccount, type MemoryBudget } from './memory-budget.js';
import type { Attribute, SpanResource, StoredSpan, TypedValue } from './model.js';

export interface StoredTrace {
  traceId: string;
  spans: StoredSpan[];
  /** Earliest span start and latest span end, microseconds since the epoch. */
  startUs: number;
  endUs: number;
}

/** Internal bookkeeping next to a stored trace. */
interface TraceEntry extends StoredTrace {
  /** The budget stamp of its first span: its age. */
  stamp: number;
  bytes: number;
  /** The resource last charged to this trace: spans of a trace usually share one, charged once. */
  chargedResource: SpanResource | undefined;
}

export interface AddResult {
  /** Spans refused because their trace already held maxSpansPerTrace. */
  overTraceLimit: number;
  /** Spans refused because they do not fit the memory budget even with every other trace evicted. */
  overBudget: number;
}

function valueBytes(value: TypedValue): number {
  switch (value.type) {
    case 'string':
    case 'bytes':
      return stringBytes(value.value);
    case 'int':
      return typeof value.value === 'string' ? stringBytes(value.value) : 0;
    case 'array':
      return OBJECT_BYTES + value.value.reduce((sum, v) => sum + 8 + OBJECT_BYTES + valueBytes(v), 0);
    case 'kvlist':
      return OBJECT_BYTES + attributesBytes(value.value);
    default:
      return 0;
  }
}

function attributesBytes(attributes: readonly Attribute[]): number {
  let bytes = OBJECT_BYTES;
  for (const a of attributes) bytes += 8 + OBJECT_BYTES + stringBytes(a.key) + valueBytes(a);
  return bytes;
}

/** Three hex ids (one byte per character): trace, span and parent span. */
const ID_BYTES = 3 * (16 + 32);

/** Estimated heap bytes of a span, without its resource (shared by many spans, charged once per trace). */
export function spanBytes(span: StoredSpan): number {
  let bytes = 4 * OBJECT_BYTES + ID_BYTES + stringBytes(span.name) + stringBytes(span.statusMessage) + stringBytes(span.traceState);
  bytes += attributesBytes(span.attributes);
  for (const e of span.events) bytes += 8 + OBJECT_BYTES + stringBytes(e.name) + attributesBytes(e.attributes);
  for (const l of span.links) bytes += 8 + OBJECT_BYTES + stringBytes(l.traceId) + stringBytes(l.spanId) + attributesBytes(l.attributes);
  return bytes;
}

export function resourceBytes(resource: SpanResource): number {
  return OBJECT_BYTES + stringBytes(resource.serviceName) + attributesBytes(resource.attributes);
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
  private readonly traces = new Map<string, TraceEntry>();
  /** service -> operation -> number of stored spans, so listing services never scans the store. */
  private readonly operationsByService = new Map<string, Map<string, number>>();
  private spans = 0;
  private evictedTraces = 0;
  private readonly account: BudgetAccount;
  /** The trace a span is being added to: the budget must not evict it to make room for its own span. */
  private writing: string | undefined;

  constructor(
    readonly limits: TraceStoreLimits,
    private readonly budget: MemoryBudget,
  ) {
    this.account = budget.join({
      name: 'traces',
      oldestStamp: () => this.oldestEvictable()?.stamp,
      evictOldest: () => {
        const oldest = this.oldestEvictable();
        if (oldest) this.evict(oldest.traceId);
      },
    });
  }

  get traceCount(): number {
    return this.traces.size;
  }

  get evicted(): number {
    return this.evictedTraces;
  }

  /** Stores the spans, evicting the oldest traces (or other budget members' entries) to make room. */
  add(spans: readonly StoredSpan[]): AddResult {
    const result: AddResult = { overTraceLimit: 0, overBudget: 0 };
    for (const span of spans) {
      let trace = this.traces.get(span.traceId);
      if (trace && trace.spans.length >= this.limits.maxSpansPerTrace) {
        result.overTraceLimit++;
        continue;
      }
      const bytes = spanBytes(span) + (trace?.chargedResource === span.resource ? 0 : resourceBytes(span.resource)) + (trace ? 0 : 2 * OBJECT_BYTES);
      this.writing = span.traceId;
      const fits = this.account.reserve(bytes);
      this.writing = undefined;
      if (!fits) {
        result.overBudget++;
        continue;
      }
      if (!trace) {
        trace = { traceId: span.traceId, spans: [], startUs: span.startUs, endUs: span.startUs + span.durationUs, stamp: this.budget.stamp(), bytes: 0, chargedResource: undefined };
        this.traces.set(span.traceId, trace);
      }
      trace.bytes += bytes;
      trace.chargedResource = span.resource;
      trace.spans.push(span);
      trace.startUs = Math.min(trace.startUs, span.startUs);
      trace.endUs = Math.max(trace.endUs, span.startUs + span.durationUs);
      this.spans++;
      this.countOperation(span, 1);
      this.evictOverLimits(span.traceId);
    }
    return result;
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

  private oldestEvictable(): TraceEntry | undefined {
    for (const trace of this.traces.values()) if (trace.traceId !== this.writing) return trace;
    return undefined;
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
    this.account.release(trace.bytes);
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
