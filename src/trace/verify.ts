/**
 * Proves where an exported trace arrived: polls Jaeger until every span sent is stored, and Prometheus
 * until the test service's spanmetrics counter has grown, both bounded by one deadline (`--wait`).
 */
import { fetchJaegerTrace, servicesOf, type JaegerTrace } from './jaeger.js';
import { readExpositionCalls } from './exposition.js';
import { readSpanmetricsCalls, type PrometheusReading } from './prometheus.js';
import { setTimeout as sleepMs } from 'node:timers/promises';

/** A backend URL and where it came from (`flag --jaeger-url`, `stack manifest`, `default`). */
export interface BackendTarget {
  url: string;
  source: string;
}

/** Where the span metrics are read: Prometheus' query API, or the exposition itself (`up --local` has no Prometheus). */
export interface MetricsTarget extends BackendTarget {
  kind: 'prometheus' | 'metrics-endpoint';
}

export interface SentSpan {
  spanId: string;
  name: string;
  service: string;
}

export interface JaegerHop {
  url: string;
  source: string;
  visible: boolean;
  /** Seconds from the end of the export until every span was stored. */
  seconds?: number;
  spans: number;
  expectedSpans: number;
  services: string[];
  /** Spans sent but not (yet) stored. */
  missing: SentSpan[];
  /** Why the last poll did not succeed, when it was not a plain "not stored yet". */
  lastError?: string;
  /** The trace as stored, when Jaeger had any of it. */
  trace?: JaegerTrace;
}

export interface PrometheusHop {
  url: string;
  source: string;
  kind: MetricsTarget['kind'];
  service: string;
  visible: boolean;
  seconds?: number;
  /** The service's spanmetrics call count before the export (undefined if Prometheus could not be read then). */
  before?: number;
  /** The last count read. */
  calls?: number;
  lastError?: string;
  /** Nothing listened at the URL before the export. */
  refusedBefore?: boolean;
}

/** Backoff between polls: quick at first (Jaeger usually has the trace within a second), then slower. */
function nextDelay(previous: number, max: number): number {
  return Math.min(max, previous * 1.5);
}


/** Each poll may take at most this long, so a hung backend cannot eat the whole --wait in one request. */
const REQUEST_TIMEOUT_MS = 5_000;

export async function waitForJaeger(
  target: BackendTarget,
  traceId: string,
  sent: readonly SentSpan[],
  exportedAt: number,
  deadline: number,
): Promise<JaegerHop> {
  const hop: JaegerHop = { ...target, visible: false, spans: 0, expectedSpans: sent.length, services: [], missing: [...sent] };
  let delay = 100;
  for (;;) {
    const remaining = deadline - performance.now();
    const lookup = await fetchJaegerTrace(target.url, traceId, Math.round(Math.max(100, Math.min(REQUEST_TIMEOUT_MS, remaining))));
    if (lookup.status === 'found') {
      const stored = new Set(lookup.trace.spans.map((span) => span.spanID));
      hop.trace = lookup.trace;
      hop.spans = sent.filter((span) => stored.has(span.spanId)).length;
      hop.services = servicesOf(lookup.trace);
      hop.missing = sent.filter((span) => !stored.has(span.spanId));
      delete hop.lastError;
      if (hop.missing.length === 0) {
        hop.visible = true;
        hop.seconds = (performance.now() - exportedAt) / 1000;
        return hop;
      }
    } else if (lookup.status === 'error') {
      hop.lastError = lookup.message;
    } else if (lookup.hint) {
      hop.lastError = lookup.hint;
    }
    if (performance.now() + delay > deadline) return hop;
    await sleepMs(delay);
    delay = nextDelay(delay, 1_000);
  }
}

/** Reads the counter before the export, so a trace counted later can be told from earlier runs. */
function readCalls(hop: PrometheusHop, timeoutMs: number): Promise<PrometheusReading> {
  return hop.kind === 'metrics-endpoint' ? readExpositionCalls(hop.url, hop.service, timeoutMs) : readSpanmetricsCalls(hop.url, hop.service, timeoutMs);
}

export async function readPrometheusBefore(target: MetricsTarget, service: string, timeoutMs: number): Promise<PrometheusHop> {
  const hop: PrometheusHop = { ...target, service, visible: false };
  const reading = await readCalls(hop, timeoutMs);
  if (reading.status === 'ok') hop.before = reading.calls;
  else {
    hop.lastError = reading.message;
    if (reading.refused) hop.refusedBefore = true;
  }
  return hop;
}

export async function waitForPrometheus(hop: PrometheusHop, exportedAt: number, deadline: number): Promise<PrometheusHop> {
  let delay = 250;
  for (;;) {
    const remaining = deadline - performance.now();
    const reading = await readCalls(hop, Math.round(Math.max(100, Math.min(REQUEST_TIMEOUT_MS, remaining))));
    if (reading.status === 'ok') {
      hop.calls = reading.calls;
      delete hop.lastError;
      // Without a reading from before the export, any series for the service counts as seen.
      const grew = hop.before === undefined ? reading.series > 0 : reading.calls > hop.before;
      if (grew) {
        hop.visible = true;
        hop.seconds = (performance.now() - exportedAt) / 1000;
        return hop;
      }
    } else {
      hop.lastError = reading.message;
    }
    if (performance.now() + delay > deadline) return hop;
    await sleepMs(delay);
    delay = nextDelay(delay, 2_000);
  }
}
