/**
 * What both OTLP transports hand decoded requests to: spans go to the trace store and the span metrics,
 * metric points and log records are counted. Listeners (the live terminal view) hear about new spans and
 * refused requests; nothing here prints.
 */
import type protobuf from 'protobufjs';
import type { FieldLimits } from './field-limits.js';
import { MemoryBudget } from './memory-budget.js';
import type { StoredSpan } from './model.js';
import { countItems, createTraceConverter, type PartialSuccess, type TraceConverter } from './otlp.js';
import type { Signal } from './proto.js';
import { SpanMetrics } from './span-metrics.js';
import { storeLimits, TraceStore } from './store.js';
import { TokenSums } from './token-sums.js';

export interface ReceiverOptions {
  maxTraces: number;
  /** --max-memory-mib in bytes: what the trace store and the span metrics hold together. */
  maxMemoryBytes: number;
  limits: FieldLimits;
  /** deployment.environment for resources without one (the generated collector's resource processor). */
  deploymentEnvironment: string;
}

export interface ReceiverStats {
  exportRequests: Record<Signal, number>;
  spansReceived: number;
  /** Spans answered with partial success: invalid ids, or their trace was full. */
  spansRefused: number;
  metricPoints: number;
  logRecords: number;
  /** Requests answered with an error status: malformed, too large, wrong content type or encoding. */
  requestsRefused: number;
}

export type Transport = 'grpc' | 'http';

export interface RefusedRequest {
  transport: Transport;
  signal?: Signal;
  /** HTTP status or gRPC code name. */
  status: number | string;
  reason: string;
}

export type ReceiverEvent =
  | { kind: 'spans'; spans: StoredSpan[] }
  | { kind: 'partial'; transport: Transport; refused: number; reason: string }
  | { kind: 'refused'; request: RefusedRequest };

export class Receiver {
  /** Shared by the trace store, the span metrics, the token sums and any other store of up --local (see memory-budget.ts). */
  readonly budget: MemoryBudget;
  readonly store: TraceStore;
  readonly spanMetrics: SpanMetrics;
  readonly tokenSums: TokenSums;
  readonly stats: ReceiverStats = {
    exportRequests: { traces: 0, metrics: 0, logs: 0 },
    spansReceived: 0,
    spansRefused: 0,
    metricPoints: 0,
    logRecords: 0,
    requestsRefused: 0,
  };
  private readonly convert: TraceConverter;
  private readonly listeners: Array<(event: ReceiverEvent) => void> = [];

  constructor(options: ReceiverOptions) {
    this.budget = new MemoryBudget(options.maxMemoryBytes);
    this.store = new TraceStore(storeLimits(options.maxTraces), this.budget);
    this.spanMetrics = new SpanMetrics(this.budget, options.limits.nameLength);
    this.tokenSums = new TokenSums(this.budget, options.limits.nameLength);
    this.convert = createTraceConverter({ deploymentEnvironment: options.deploymentEnvironment, limits: options.limits });
  }

  listen(listener: (event: ReceiverEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(event: ReceiverEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  /** Handles one decoded Export request; returns the partial success to answer, if any. */
  export(signal: Signal, request: protobuf.Message, transport: Transport): PartialSuccess | undefined {
    this.stats.exportRequests[signal]++;
    if (signal !== 'traces') {
      const items = countItems(signal, request);
      if (signal === 'metrics') this.stats.metricPoints += items;
      else this.stats.logRecords += items;
      return undefined;
    }
    const converted = this.convert(request);
    const { overTraceLimit, overBudget } = this.store.add(converted.spans);
    // Like the collector's spanmetrics, count every valid span, stored or not.
    for (const span of converted.spans) {
      this.spanMetrics.record(span);
      this.tokenSums.record(span);
    }
    this.stats.spansReceived += converted.spans.length + converted.rejected;
    if (converted.spans.length > 0) this.emit({ kind: 'spans', spans: converted.spans });

    const refused = converted.rejected + overTraceLimit + overBudget;
    if (refused === 0) return undefined;
    this.stats.spansRefused += refused;
    const reasons = [...converted.reasons];
    if (overTraceLimit > 0) {
      reasons.push(`${overTraceLimit} span(s) over the ${this.store.limits.maxSpansPerTrace}-spans-per-trace limit of up --local`);
    }
    if (overBudget > 0) {
      const mib = Math.round(this.budget.maxBytes / (1024 * 1024));
      reasons.push(`${overBudget} span(s) do not fit the ${mib} MiB memory budget of up --local even with older traces evicted (--max-memory-mib)`);
    }
    const reason = `${refused} span(s) not stored: ${reasons.join('; ')}`;
    this.emit({ kind: 'partial', transport, refused, reason });
    return { rejected: refused, message: reason };
  }

  refused(request: RefusedRequest): void {
    this.stats.requestsRefused++;
    this.emit({ kind: 'refused', request });
  }
}
