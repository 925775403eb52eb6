/**
 * The subset of Jaeger's HTTP query API (the v1 JSON its UI and its clients read) that `up --local`
 * serves from the trace store: /api/services, /api/services/{service}/operations, /api/traces/{id} and
 * /api/traces?service=... Spans are translated the way Jaeger translates OTLP (scope tags, attributes,
 * span.kind, otel.status_code, error, otel.status_description, w3c.tracestate; events as logs; parent and
 * links as references; resources as processes p1, p2, ...).
 */
import { SPAN_KIND_NAMES, valueAsString, type Attribute, type SpanResource, type StoredSpan } from './model.js';
import type { StoredTrace, TraceStore } from './store.js';

/** Jaeger's service name for a resource without service.name. */
export const NO_SERVICE_NAME = 'OTLPResourceNoServiceName';
/** Traces returned by a search without `limit`. */
export const DEFAULT_SEARCH_LIMIT = 100;
/** How far back a search without `start` looks. */
export const DEFAULT_LOOKBACK_US = 2 * 24 * 3600 * 1_000_000;

export interface JaegerTag {
  key: string;
  type: 'string' | 'bool' | 'int64' | 'float64' | 'binary';
  value: string | boolean | number;
}

export interface JaegerSpanJson {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Array<{ refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }>;
  startTime: number;
  duration: number;
  tags: JaegerTag[];
  logs: Array<{ timestamp: number; fields: JaegerTag[] }>;
  processID: string;
  warnings: null;
}

export interface JaegerTraceJson {
  traceID: string;
  spans: JaegerSpanJson[];
  processes: Record<string, { serviceName: string; tags: JaegerTag[] }>;
  warnings: null;
}

/** Jaeger's envelope: every API answer has these five fields. */
export interface JaegerResponse<T> {
  data: T;
  total: number;
  limit: number;
  offset: number;
  errors: Array<{ code: number; msg: string }> | null;
}

export function ok<T>(data: T, total = 0): JaegerResponse<T> {
  return { data, total, limit: 0, offset: 0, errors: null };
}

export function failure(code: number, msg: string): JaegerResponse<null> {
  return { data: null, total: 0, limit: 0, offset: 0, errors: [{ code, msg }] };
}

/** Jaeger prints a 128-bit id with a zero high half as 16 hex digits. */
export function jaegerTraceId(traceId: string): string {
  return traceId.startsWith('0000000000000000') ? traceId.slice(16) : traceId;
}

/** A trace id as given in a URL (1-32 hex digits, any case) to the stored form, or undefined. */
export function normalizeTraceId(text: string): string | undefined {
  return /^[0-9a-fA-F]{1,32}$/.test(text) ? text.toLowerCase().padStart(32, '0') : undefined;
}

export function serviceName(resource: SpanResource): string {
  return resource.serviceName === '' ? NO_SERVICE_NAME : resource.serviceName;
}

function tag(attr: Attribute): JaegerTag {
  switch (attr.type) {
    case 'int':
      return { key: attr.key, type: 'int64', value: attr.value };
    case 'bool':
      return { key: attr.key, type: 'bool', value: attr.value };
    case 'double':
      return { key: attr.key, type: 'float64', value: attr.value };
    case 'bytes':
      return { key: attr.key, type: 'binary', value: attr.value };
    default:
      return { key: attr.key, type: 'string', value: valueAsString(attr) };
  }
}

const stringTag = (key: string, value: string): JaegerTag => ({ key, type: 'string', value });

export function spanTags(span: StoredSpan): JaegerTag[] {
  const tags: JaegerTag[] = [];
  if (span.scope.name) tags.push(stringTag('otel.scope.name', span.scope.name));
  if (span.scope.version) tags.push(stringTag('otel.scope.version', span.scope.version));
  for (const attr of span.attributes) tags.push(tag(attr));
  if (span.kind !== 0) tags.push(stringTag('span.kind', SPAN_KIND_NAMES[span.kind]));
  if (span.statusCode === 1) tags.push(stringTag('otel.status_code', 'OK'));
  if (span.statusCode === 2) {
    tags.push(stringTag('otel.status_code', 'ERROR'));
    tags.push({ key: 'error', type: 'bool', value: true });
  }
  if (span.statusMessage) tags.push(stringTag('otel.status_description', span.statusMessage));
  if (span.traceState) tags.push(stringTag('w3c.tracestate', span.traceState));
  return tags;
}

function references(span: StoredSpan): JaegerSpanJson['references'] {
  const refs: JaegerSpanJson['references'] = [];
  if (span.parentSpanId) refs.push({ refType: 'CHILD_OF', traceID: jaegerTraceId(span.traceId), spanID: span.parentSpanId });
  for (const link of span.links) {
    const refTypeAttr = link.attributes.find((a) => a.key === 'opentracing.ref_type');
    const refType = refTypeAttr && valueAsString(refTypeAttr) === 'child_of' ? 'CHILD_OF' : 'FOLLOWS_FROM';
    // A link to the parent only changes the parent reference's type.
    if (span.parentSpanId && link.traceId === span.traceId && link.spanId === span.parentSpanId) {
      refs[0]!.refType = refType;
      continue;
    }
    refs.push({ refType, traceID: jaegerTraceId(link.traceId), spanID: link.spanId });
  }
  return refs;
}

export function toJaegerTrace(trace: StoredTrace): JaegerTraceJson {
  const processIds = new Map<SpanResource, string>();
  const processes: JaegerTraceJson['processes'] = {};
  const spans = trace.spans.map((span): JaegerSpanJson => {
    let processID = processIds.get(span.resource);
    if (!processID) {
      processID = `p${processIds.size + 1}`;
      processIds.set(span.resource, processID);
      processes[processID] = {
        serviceName: serviceName(span.resource),
        tags: span.resource.attributes.filter((a) => a.key !== 'service.name').map(tag),
      };
    }
    return {
      traceID: jaegerTraceId(span.traceId),
      spanID: span.spanId,
      operationName: span.name,
      references: references(span),
      startTime: span.startUs,
      duration: span.durationUs,
      tags: spanTags(span),
      logs: span.events.map((event) => ({
        timestamp: event.timeUs,
        fields: [
          ...(event.name && !event.attributes.some((a) => a.key === 'event') ? [stringTag('event', event.name)] : []),
          ...event.attributes.map(tag),
        ],
      })),
      processID,
      warnings: null,
    };
  });
  return { traceID: jaegerTraceId(trace.traceId), spans, processes, warnings: null };
}

export interface TraceSearch {
  /** Undefined: every service (the viewer's search; Jaeger's API requires one). */
  service?: string;
  operation?: string;
  startUs: number;
  endUs: number;
  minDurationUs?: number;
  maxDurationUs?: number;
  /** Every tag must match a span tag, a process tag or a log field (as strings). */
  tags: Record<string, string>;
  limit: number;
}

const DURATION_UNITS_US: Record<string, number> = { ns: 0.001, us: 1, µs: 1, ms: 1000, s: 1e6, m: 60e6, h: 3600e6 };

/** A Go duration as Jaeger's API takes it ("1.5s", "250ms", "2h45m") to microseconds. */
export function parseGoDuration(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * DURATION_UNITS_US[p[2]!]!, 0);
}

export class SearchError extends Error {}

/** Reads a search from the query string the way Jaeger's API does (start/end in microseconds). */
export function parseTraceSearch(params: URLSearchParams, nowUs: number, { serviceRequired = true } = {}): TraceSearch {
  const service = params.get('service') || undefined;
  if (!service && serviceRequired) throw new SearchError("parameter 'service' is required");
  const integer = (name: string): number | undefined => {
    const raw = params.get(name);
    if (raw === null || raw === '') return undefined;
    if (!/^\d+$/.test(raw)) throw new SearchError(`unable to parse param '${name}': strconv.ParseInt: parsing "${raw}": invalid syntax`);
    return Number(raw);
  };
  const duration = (name: string): number | undefined => {
    const raw = params.get(name);
    if (raw === null || raw === '') return undefined;
    const us = parseGoDuration(raw);
    if (us === undefined) throw new SearchError(`unable to parse param '${name}': time: invalid duration "${raw}"`);
    return us;
  };
  const lookback = params.get('lookback');
  const lookbackUs = lookback && lookback !== 'custom' ? parseGoDuration(lookback.replace(/(\d+)d$/, (_, d: string) => `${Number(d) * 24}h`)) : undefined;
  const endUs = integer('end') ?? nowUs;
  const tags: Record<string, string> = {};
  const tagsJson = params.get('tags');
  if (tagsJson) {
    try {
      Object.assign(tags, JSON.parse(tagsJson) as Record<string, string>);
    } catch {
      throw new SearchError(`malformed 'tags' parameter, expecting JSON object: ${tagsJson}`);
    }
  }
  for (const pair of params.getAll('tag')) {
    const colon = pair.indexOf(':');
    if (colon <= 0) throw new SearchError(`malformed 'tag' parameter, expecting key:value, received: ${pair}`);
    tags[pair.slice(0, colon)] = pair.slice(colon + 1);
  }
  const minDurationUs = duration('minDuration');
  const maxDurationUs = duration('maxDuration');
  const operation = params.get('operation');
  return {
    ...(service ? { service } : {}),
    ...(operation ? { operation } : {}),
    startUs: integer('start') ?? endUs - (lookbackUs ?? DEFAULT_LOOKBACK_US),
    endUs,
    ...(minDurationUs !== undefined ? { minDurationUs } : {}),
    ...(maxDurationUs !== undefined ? { maxDurationUs } : {}),
    tags,
    limit: integer('limit') || DEFAULT_SEARCH_LIMIT,
  };
}

function matchesTags(span: StoredSpan, tags: Record<string, string>): boolean {
  const entries = Object.entries(tags);
  if (entries.length === 0) return true;
  const all = [
    ...spanTags(span),
    ...span.resource.attributes.map(tag),
    ...span.events.flatMap((e) => [stringTag('event', e.name), ...e.attributes.map(tag)]),
  ];
  return entries.every(([key, value]) => all.some((t) => t.key === key && String(t.value) === value));
}

function matchesSpan(span: StoredSpan, search: TraceSearch): boolean {
  return (
    (search.service === undefined || serviceName(span.resource) === search.service) &&
    (search.operation === undefined || span.name === search.operation) &&
    span.startUs >= search.startUs &&
    span.startUs <= search.endUs &&
    (search.minDurationUs === undefined || span.durationUs >= search.minDurationUs) &&
    (search.maxDurationUs === undefined || span.durationUs <= search.maxDurationUs) &&
    matchesTags(span, search.tags)
  );
}

/** Every trace with at least one span matching the search, most recent start first (`limit` not applied). */
export function matchingTraces(store: TraceStore, search: TraceSearch): StoredTrace[] {
  const found: StoredTrace[] = [];
  for (const trace of store.newestFirst()) {
    if (trace.spans.some((span) => matchesSpan(span, search))) found.push(trace);
  }
  return found.sort((a, b) => b.startUs - a.startUs);
}

/** Traces with at least one span matching the search, most recent start first. */
export function searchTraces(store: TraceStore, search: TraceSearch): StoredTrace[] {
  return matchingTraces(store, search).slice(0, search.limit);
}

export function services(store: TraceStore): string[] {
  return store.services().map((s) => (s === '' ? NO_SERVICE_NAME : s));
}

export function operations(store: TraceStore, service: string): string[] {
  return store.operations(service === NO_SERVICE_NAME ? '' : service);
}
