/**
 * One test trace, end to end: build it through the SDK, export it and read the exporter's result, then
 * (unless told not to) wait until Jaeger stores every span and Prometheus counts it.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import { hrTimeToMicroseconds } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { OtlpTraceSettings } from '../otlp/settings.js';
import type { WaterfallSpan } from '../output/waterfall.js';
import { createSpanDelivery, rejectionFailure, type ExportOutcome } from './export.js';
import { fetchJaegerTrace } from './jaeger.js';
import { createLoomTraceFactory, type LoomTraceOptions } from './loom-trace.js';
import { readPrometheusBefore, waitForJaeger, waitForPrometheus, type BackendTarget, type JaegerHop, type MetricsTarget, type PrometheusHop, type SentSpan } from './verify.js';
import type { OtlpFailure } from '../otlp/failures.js';

/** A failed export is diagnosed by doctor's probe for at least this long, even when --timeout is spent. */
const DIAGNOSIS_MIN_MS = 1_000;
/**
 * The checks before the export ask each backend once, for at most this long, and never longer than the
 * export's own timeout (--timeout): a user who asks for a 1 s timeout does not wait 5 s for a Prometheus
 * that never answers. Jaeger's guessed default port gets less, being only a guess.
 */
const PRE_CHECK_MS = { jaeger: 2_000, prometheus: 5_000 } as const;

export interface VerifyPlan {
  /** Undefined when there is no Jaeger to ask. */
  jaeger?: BackendTarget;
  prometheus?: MetricsTarget;
  waitMs: number;
}

export interface SendTraceInput {
  settings: OtlpTraceSettings;
  trace: LoomTraceOptions;
  /** False with --no-verify. */
  verify: VerifyPlan | false;
  /** Called as soon as the trace exists, before the export: the id is the first thing the user sees. */
  onTraceId?: (traceId: string) => void;
  /** Called whenever what the run waits for changes: `export`, `jaeger`, `prometheus`; empty when done. */
  onWaiting?: (hops: WaitingFor[]) => void;
}

export type WaitingFor = 'export' | 'jaeger' | 'prometheus';

export interface SendTraceResult {
  traceId: string;
  services: string[];
  sent: WaterfallSpan[];
  export: Omit<ExportOutcome, 'failure'> & { failure?: OtlpFailure };
  jaeger?: JaegerHop;
  prometheus?: PrometheusHop;
  /** Why a backend was not checked although the plan named one. */
  jaegerSkipped?: string;
  prometheusSkipped?: string;
}

export function toSentWaterfall(spans: readonly ReadableSpan[]): WaterfallSpan[] {
  return spans.map((span) => {
    const parent = span.parentSpanContext?.spanId;
    return {
      spanId: span.spanContext().spanId,
      ...(parent ? { parentSpanId: parent } : {}),
      service: String(span.resource.attributes['service.name'] ?? '?'),
      name: span.name,
      startUs: hrTimeToMicroseconds(span.startTime),
      durationUs: hrTimeToMicroseconds(span.duration),
      error: span.status.code === SpanStatusCode.ERROR,
    };
  });
}

interface BeforeExport {
  /** The plan, Jaeger dropped if it was found not listening. */
  verify: VerifyPlan;
  /** Prometheus' counter before the export, unless it was found not listening. */
  prometheus?: PrometheusHop;
  jaegerSkipped?: string;
  prometheusSkipped?: string;
}

/**
 * Reads Prometheus' counter before the export, and drops a backend that was only guessed (Jaeger's default
 * port without a manifest; the manifest's Prometheus when that stack is not running; under `up --local` the
 * plan reads its /metrics instead) when nothing listens there, rather than waiting --wait seconds for it.
 * Backends named by a flag are always kept.
 */
async function checkBeforeExport(plan: VerifyPlan, traceId: string, service: string, timeoutMs: number): Promise<BeforeExport> {
  const { jaeger, prometheus, ...rest } = plan;
  const limit = (fixedMs: number) => Math.max(1, Math.min(fixedMs, timeoutMs));
  const [jaegerProbe, prometheusHop] = await Promise.all([
    jaeger?.source === 'default' ? fetchJaegerTrace(jaeger.url, traceId, limit(PRE_CHECK_MS.jaeger)) : undefined,
    prometheus ? readPrometheusBefore(prometheus, service, limit(PRE_CHECK_MS.prometheus)) : undefined,
  ]);
  const checked: BeforeExport = { verify: rest };
  if (jaegerProbe?.status === 'error' && jaegerProbe.refused) {
    checked.jaegerSkipped = `not checked: ${jaegerProbe.message} (give --jaeger-url to check one)`;
  } else if (jaeger) {
    checked.verify.jaeger = jaeger;
  }
  if (prometheusHop?.refusedBefore && prometheusHop.source === 'stack manifest') {
    checked.prometheusSkipped = `not checked: ${prometheusHop.lastError} (the stack's Prometheus is not running: start it with \`loom-otel up\`, or give --prometheus-url to check one)`;
  } else if (prometheusHop) {
    checked.prometheus = prometheusHop;
  }
  return checked;
}

export async function sendTestTrace(input: SendTraceInput): Promise<SendTraceResult> {
  const factory = createLoomTraceFactory(input.trace);
  const delivery = await createSpanDelivery(input.settings);
  try {
    const built = factory.build();
    input.onTraceId?.(built.traceId);
    const sent = toSentWaterfall(built.spans);
    const result: SendTraceResult = { traceId: built.traceId, services: [...factory.services], sent, export: { ok: false, spans: 0, ms: 0, rejectedSpans: 0 } };

    const before = input.verify ? await checkBeforeExport(input.verify, built.traceId, input.trace.service, input.settings.timeoutMs.value) : undefined;
    if (before?.jaegerSkipped) result.jaegerSkipped = before.jaegerSkipped;
    if (before?.prometheusSkipped) result.prometheusSkipped = before.prometheusSkipped;
    const verify = before?.verify;

    input.onWaiting?.(['export']);
    const outcome = await delivery.send(built.spans);
    const exportedAt = performance.now();
    input.onWaiting?.([]);
    result.export = outcome.failure === undefined && outcome.rejectedSpans > 0 ? { ...outcome, failure: rejectionFailure(outcome) } : outcome;
    if (outcome.failure) {
      // Diagnose within what is left of --timeout, with at least a short look (the small margin past it).
      const budget = Math.max(input.settings.timeoutMs.value - outcome.ms, Math.min(DIAGNOSIS_MIN_MS, input.settings.timeoutMs.value));
      const { explainExportFailure } = await import('../otlp/probe.js');
      result.export = { ...outcome, failure: await explainExportFailure(outcome.failure, input.settings, Math.round(budget)) };
    }
    if (!outcome.ok || !verify) return result;

    const deadline = exportedAt + verify.waitMs;
    const sentSpans: SentSpan[] = sent.map(({ spanId, name, service }) => ({ spanId, name, service }));
    const pending = new Set<WaitingFor>();
    const tracked = <T>(hop: WaitingFor, wait: Promise<T>): Promise<T> => {
      pending.add(hop);
      return wait.finally(() => {
        pending.delete(hop);
        input.onWaiting?.([...pending]);
      });
    };
    const waits = Promise.all([
      verify.jaeger ? tracked('jaeger', waitForJaeger(verify.jaeger, built.traceId, sentSpans, exportedAt, deadline)) : undefined,
      before?.prometheus ? tracked('prometheus', waitForPrometheus(before.prometheus, exportedAt, deadline)) : undefined,
    ]);
    input.onWaiting?.([...pending]);
    const [jaeger, prometheus] = await waits;
    if (jaeger) result.jaeger = jaeger;
    if (prometheus) result.prometheus = prometheus;
    return result;
  } finally {
    await Promise.all([delivery.shutdown(), factory.shutdown()]);
  }
}
