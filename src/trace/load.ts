/**
 * Load mode: `count` Loom traces at `rate` traces per second (0 = as fast as possible) over `concurrency`
 * parallel export requests, for sizing a collector (what `telemetrygen` does, with Loom-shaped traces).
 *
 * Like the SDK's BatchSpanProcessor, spans travel in batches of up to 512 per export request: a worker
 * takes every trace that is due (up to a full batch), builds it through the SDK and exports it, so a
 * receiver slower than the rate makes batches grow instead of the backlog.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { OtlpTraceSettings } from '../otlp/settings.js';
import { createSpanDelivery, rejectionFailure } from './export.js';
import { createLoomTraceFactory, type LoomTraceOptions } from './loom-trace.js';
import { setTimeout as delay } from 'node:timers/promises';
import type { OtlpFailure } from '../otlp/failures.js';

/** The BatchSpanProcessor's default maxExportBatchSize. */
export const MAX_BATCH_SPANS = 512;

export interface LoadInput {
  settings: OtlpTraceSettings;
  trace: LoomTraceOptions;
  count: number;
  /** Traces per second; 0 = as fast as possible. */
  rate: number;
  concurrency: number;
  /** Stops taking new traces; exports in flight finish and are counted. */
  signal?: AbortSignal;
  onProgress?: (progress: LoadProgress) => void;
}

export interface LoadProgress {
  tracesDone: number;
  tracesTotal: number;
  spansAccepted: number;
  failedExports: number;
  elapsedMs: number;
}

export interface FailureCount {
  kind: OtlpFailure['kind'];
  cause: string;
  fix: string;
  grpcCode?: number;
  httpStatus?: number;
  exports: number;
  spans: number;
}

export interface LoadSummary {
  tracesRequested: number;
  /** Traces whose export succeeded completely. */
  tracesSent: number;
  spansPerTrace: number;
  /** Spans the receiver accepted. */
  spansSent: number;
  spansFailed: number;
  rejectedSpans: number;
  exports: number;
  failedExports: number;
  seconds: number;
  spansPerSecond: number;
  tracesPerSecond: number;
  failures: FailureCount[];
  /** Export request latency, milliseconds (nearest rank). */
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  interrupted: boolean;
}

/** Nearest-rank percentile of ascending `sorted`. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? 0;
}


export async function runLoad(input: LoadInput): Promise<LoadSummary> {
  const factory = createLoomTraceFactory(input.trace);
  const delivery = await createSpanDelivery(input.settings, { concurrency: input.concurrency });
  const tracesPerBatch = Math.max(1, Math.floor(MAX_BATCH_SPANS / factory.spansPerTrace));
  const interval = input.rate > 0 ? 1000 / input.rate : 0;
  const latencies: number[] = [];
  const failures = new Map<string, FailureCount>();
  const totals = { taken: 0, tracesDone: 0, tracesSent: 0, spansSent: 0, spansFailed: 0, rejectedSpans: 0, failedExports: 0 };
  const started = performance.now();
  const progress = () =>
    input.onProgress?.({
      tracesDone: totals.tracesDone,
      tracesTotal: input.count,
      spansAccepted: totals.spansSent,
      failedExports: totals.failedExports,
      elapsedMs: performance.now() - started,
    });

  const countFailure = (failure: OtlpFailure, spans: number) => {
    const key = `${failure.kind}:${failure.grpcCode ?? failure.httpStatus ?? ''}`;
    const entry = failures.get(key) ?? {
      kind: failure.kind,
      cause: failure.cause,
      fix: failure.fix,
      ...(failure.grpcCode !== undefined ? { grpcCode: failure.grpcCode } : {}),
      ...(failure.httpStatus !== undefined ? { httpStatus: failure.httpStatus } : {}),
      exports: 0,
      spans: 0,
    };
    entry.exports += 1;
    entry.spans += spans;
    failures.set(key, entry);
  };

  const exportBatch = async (spans: ReadableSpan[], traces: number) => {
    const outcome = await delivery.send(spans);
    latencies.push(outcome.ms);
    totals.tracesDone += traces;
    if (outcome.failure) {
      totals.failedExports += 1;
      totals.spansFailed += spans.length;
      countFailure(outcome.failure, spans.length);
    } else if (outcome.rejectedSpans > 0) {
      totals.failedExports += 1;
      totals.rejectedSpans += outcome.rejectedSpans;
      totals.spansSent += spans.length - outcome.rejectedSpans;
      totals.spansFailed += outcome.rejectedSpans;
      countFailure(rejectionFailure(outcome), outcome.rejectedSpans);
    } else {
      totals.tracesSent += traces;
      totals.spansSent += spans.length;
    }
    progress();
  };

  // Each worker keeps one export in flight and builds its next batch meanwhile, as the
  // BatchSpanProcessor does while the application keeps making spans.
  const worker = async () => {
    let inFlight: Promise<void> | undefined;
    while (totals.taken < input.count && !input.signal?.aborted) {
      let take = Math.min(tracesPerBatch, input.count - totals.taken);
      if (interval > 0) {
        const due = started + totals.taken * interval;
        const now = performance.now();
        if (now < due) {
          await delay(due - now, undefined, { signal: input.signal }).catch(() => undefined);
          continue; // another worker may have taken the due trace meanwhile
        }
        const dueCount = Math.min(input.count, Math.floor((now - started) / interval) + 1);
        take = Math.min(take, dueCount - totals.taken);
      }
      totals.taken += take;
      const spans: ReadableSpan[] = [];
      for (let i = 0; i < take; i++) spans.push(...factory.build().spans);
      await inFlight;
      inFlight = exportBatch(spans, take);
    }
    await inFlight;
  };

  let seconds: number;
  try {
    await Promise.all(Array.from({ length: input.concurrency }, worker));
    seconds = (performance.now() - started) / 1000;
  } finally {
    await Promise.all([delivery.shutdown(), factory.shutdown()]);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const byCount = [...failures.values()].sort((a, b) => b.exports - a.exports);
  const commonest = byCount[0];
  if (commonest && !input.signal?.aborted) {
    // One probe, as doctor runs it, names the cause of the commonest failure in doctor's words.
    const { explainExportFailure } = await import('../otlp/probe.js');
    const { kind, cause, fix } = await explainExportFailure({ ...commonest, retryable: false }, input.settings, input.settings.timeoutMs.value);
    Object.assign(commonest, { kind, cause, fix });
  }
  return {
    tracesRequested: input.count,
    tracesSent: totals.tracesSent,
    spansPerTrace: factory.spansPerTrace,
    spansSent: totals.spansSent,
    spansFailed: totals.spansFailed,
    rejectedSpans: totals.rejectedSpans,
    exports: latencies.length,
    failedExports: totals.failedExports,
    seconds,
    spansPerSecond: seconds > 0 ? totals.spansSent / seconds : 0,
    tracesPerSecond: seconds > 0 ? totals.tracesSent / seconds : 0,
    failures: byCount,
    latencyMs: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 },
    interrupted: Boolean(input.signal?.aborted) && totals.taken < input.count,
  };
}
