/**
 * Reads a trace back from Jaeger's query API (`GET /api/traces/{id}`, the HTTP API its UI uses; Jaeger v2
 * keeps it). A 404 means "not stored yet", which is normal for a moment after export.
 */
import type { WaterfallSpan } from '../output/waterfall.js';
import { backendBase, getFromBackend } from './backend.js';

export interface JaegerTag {
  key: string;
  type?: string;
  value: unknown;
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references?: Array<{ refType: string; traceID?: string; spanID: string }>;
  /** Microseconds since the epoch. */
  startTime: number;
  /** Microseconds. */
  duration: number;
  tags?: JaegerTag[];
  logs?: Array<{ timestamp: number; fields: JaegerTag[] }>;
  processID: string;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags?: JaegerTag[] }>;
}

export type JaegerLookup =
  | { status: 'found'; trace: JaegerTrace }
  /** `hint` when the 404 did not come from Jaeger's API (no JSON `errors`): probably not Jaeger's query port. */
  | { status: 'not-found'; hint?: string }
  /** `refused`: nothing listens there (as opposed to an answer we could not use). */
  | { status: 'error'; message: string; refused?: boolean };

export function jaegerTraceLink(base: string, traceId: string): string {
  return `${backendBase(base)}/trace/${traceId}`;
}

export async function fetchJaegerTrace(base: string, traceId: string, timeoutMs: number): Promise<JaegerLookup> {
  const answer = await getFromBackend('Jaeger', base, `/api/traces/${traceId}`, timeoutMs);
  if (!answer.ok) return { status: 'error', message: answer.message, ...(answer.refused ? { refused: true } : {}) };
  const { status, text } = answer;
  if (status === 404) {
    return isJaegerError(text)
      ? { status: 'not-found' }
      : { status: 'not-found', hint: `${backendBase(base)} answered 404 without Jaeger's JSON error: is it Jaeger's query API (port 16686)?` };
  }
  if (status < 200 || status > 299) return { status: 'error', message: `Jaeger at ${backendBase(base)} answered ${status} to GET /api/traces/{id}` };
  try {
    const body = JSON.parse(text) as { data?: JaegerTrace[] | null };
    const trace = body.data?.[0];
    return trace && Array.isArray(trace.spans) ? { status: 'found', trace } : { status: 'not-found' };
  } catch {
    return { status: 'error', message: `Jaeger at ${backendBase(base)} answered GET /api/traces/{id} with something that is not JSON` };
  }
}

function isJaegerError(text: string): boolean {
  try {
    return Array.isArray((JSON.parse(text) as { errors?: unknown }).errors);
  } catch {
    return false;
  }
}

export function tagValue(tags: JaegerTag[] | undefined, key: string): unknown {
  return tags?.find((tag) => tag.key === key)?.value;
}

/** Error as Jaeger stores an OTLP ERROR status: the `error` tag, and `otel.status_code`. */
export function isErrorSpan(span: JaegerSpan): boolean {
  const error = tagValue(span.tags, 'error');
  return error === true || error === 'true' || tagValue(span.tags, 'otel.status_code') === 'ERROR';
}

export function serviceOf(trace: JaegerTrace, span: JaegerSpan): string {
  return trace.processes[span.processID]?.serviceName ?? '?';
}

export function parentOf(span: JaegerSpan): string | undefined {
  return span.references?.find((ref) => ref.refType === 'CHILD_OF')?.spanID;
}

/** Distinct service names, in the order their first span appears. */
export function servicesOf(trace: JaegerTrace): string[] {
  return [...new Set(trace.spans.map((span) => serviceOf(trace, span)))];
}

export function toWaterfall(trace: JaegerTrace): WaterfallSpan[] {
  return trace.spans.map((span) => ({
    spanId: span.spanID,
    ...(parentOf(span) ? { parentSpanId: parentOf(span) } : {}),
    // A peer wrote these: whatever JSON type it sent, the tree shows text.
    service: String(serviceOf(trace, span)),
    name: String(span.operationName ?? '?'),
    startUs: span.startTime,
    durationUs: span.duration,
    error: isErrorSpan(span),
  }));
}
