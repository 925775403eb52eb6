/**
 * OTLP requests in and responses out, for both transports: decoding (protobuf or OTLP/JSON), turning
 * decoded spans into StoredSpans, counting metric points and log records, and encoding the Export
 * response or error status in the request's own encoding.
 */
import type protobuf from 'protobufjs';
import type { Attribute, SpanResource, SpanScope, StoredSpan, TypedValue, SpanKindNumber, StatusCodeNumber } from './model.js';
import { otlpTypes, type Signal } from './proto.js';
import { ENVIRONMENT_ATTRIBUTES, SERVICE_NAME_COPY } from '../stack/spanmetrics.js';

export type Encoding = 'protobuf' | 'json';

/** The request cannot be decoded: HTTP 400 / gRPC INVALID_ARGUMENT. */
export class MalformedRequestError extends Error {}

/** OTLP/JSON writes these ids as hex strings (not base64, unlike other bytes fields in proto3 JSON). */
const HEX_ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Iterative, so a deeply nested body reaches protobufjs's depth limit (a 400) instead of overflowing the stack. */
function hexIdsToBytes(root: unknown): void {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      for (const item of value) pending.push(item); // not push(...value): a long array would exceed the argument limit
      continue;
    }
    const record = value as Record<string, unknown>;
    for (const [key, field] of Object.entries(record)) {
      if (HEX_ID_KEYS.has(key) && typeof field === 'string') {
        if (!HEX.test(field)) throw new MalformedRequestError(`${key} "${field.slice(0, 40)}" is not a hex string (OTLP/JSON writes ids in hex)`);
        record[key] = Buffer.from(field, 'hex');
      } else {
        pending.push(field);
      }
    }
  }
}

/** Decodes an Export request body. Throws MalformedRequestError with a message fit for the client. */
export function decodeRequest(signal: Signal, body: Buffer, encoding: Encoding): protobuf.Message {
  const { request } = otlpTypes().signals[signal];
  if (encoding === 'protobuf') {
    try {
      return request.decode(body);
    } catch (error) {
      throw new MalformedRequestError(`proto: cannot parse ${request.name}: ${(error as Error).message}`);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new MalformedRequestError(`json: cannot parse ${request.name}: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new MalformedRequestError(`json: ${request.name} must be a JSON object`);
  }
  hexIdsToBytes(json);
  try {
    return request.fromObject(json as Record<string, unknown>);
  } catch (error) {
    throw new MalformedRequestError(`json: invalid ${request.name}: ${(error as Error).message}`);
  }
}

// ---- decoded protobufjs shapes (only the fields read here) ----
type Long64 = number | { low: number; high: number; toNumber(): number; toString(): string };
interface PbAnyValue {
  value?: string;
  stringValue?: string;
  boolValue?: boolean;
  intValue?: Long64;
  doubleValue?: number;
  bytesValue?: Uint8Array;
  arrayValue?: { values?: PbAnyValue[] };
  kvlistValue?: { values?: PbKeyValue[] };
}
interface PbKeyValue {
  key: string;
  value?: PbAnyValue | null;
}
interface PbSpan {
  traceId: Uint8Array;
  spanId: Uint8Array;
  parentSpanId: Uint8Array;
  traceState: string;
  name: string;
  kind: number;
  startTimeUnixNano: Long64;
  endTimeUnixNano: Long64;
  attributes: PbKeyValue[];
  events: Array<{ timeUnixNano: Long64; name: string; attributes: PbKeyValue[] }>;
  links: Array<{ traceId: Uint8Array; spanId: Uint8Array; attributes: PbKeyValue[] }>;
  status?: { code: number; message: string } | null;
}
interface PbTracesRequest {
  resourceSpans: Array<{
    resource?: { attributes: PbKeyValue[] } | null;
    scopeSpans: Array<{ scope?: { name: string; version: string } | null; spans: PbSpan[] }>;
  }>;
}

function int64(value: Long64): number | string {
  if (typeof value === 'number') return value;
  const n = value.toNumber();
  return Number.isSafeInteger(n) ? n : value.toString();
}

function unsignedParts(value: Long64): [high: number, low: number] {
  if (typeof value === 'number') return [Math.floor(value / 4294967296), value % 4294967296];
  return [value.high >>> 0, value.low >>> 0];
}

/** Nanoseconds (fixed64) to whole microseconds, exactly: 2^32 ns = 4294967 us + 296 ns. */
export function nanosToMicros(value: Long64): number {
  const [high, low] = unsignedParts(value);
  return high * 4294967 + Math.floor((high * 296 + low) / 1000);
}

/** end - start in whole microseconds, never negative. */
function durationMicros(start: Long64, end: Long64): number {
  const [sh, sl] = unsignedParts(start);
  const [eh, el] = unsignedParts(end);
  return Math.max(0, Math.floor(((eh - sh) * 4294967296 + (el - sl)) / 1000));
}

function toBuffer(bytes: Uint8Array | undefined): Buffer {
  if (!bytes) return Buffer.alloc(0);
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
}

function typedValue(value: PbAnyValue | null | undefined): TypedValue {
  switch (value?.value) {
    case 'stringValue':
      return { type: 'string', value: value.stringValue ?? '' };
    case 'boolValue':
      return { type: 'bool', value: Boolean(value.boolValue) };
    case 'intValue':
      return { type: 'int', value: int64(value.intValue ?? 0) };
    case 'doubleValue':
      return { type: 'double', value: value.doubleValue ?? 0 };
    case 'bytesValue':
      return { type: 'bytes', value: toBuffer(value.bytesValue).toString('base64') };
    case 'arrayValue':
      return { type: 'array', value: (value.arrayValue?.values ?? []).map(typedValue) };
    case 'kvlistValue':
      return { type: 'kvlist', value: attributes(value.kvlistValue?.values) };
    default:
      return { type: 'empty', value: null };
  }
}

function attributes(list: PbKeyValue[] | undefined): Attribute[] {
  if (!list || list.length === 0) return [];
  return list.map((kv) => ({ key: kv.key, ...typedValue(kv.value) }) as Attribute);
}

const isZero = (bytes: Buffer) => bytes.every((b) => b === 0);

/** Why a span cannot be stored, or undefined when it can. */
function invalidIds(span: PbSpan): string | undefined {
  const traceId = toBuffer(span.traceId);
  const spanId = toBuffer(span.spanId);
  const parent = toBuffer(span.parentSpanId);
  if (traceId.length !== 16) return `trace_id must be 16 bytes, got ${traceId.length}`;
  if (isZero(traceId)) return 'trace_id is all zeroes';
  if (spanId.length !== 8) return `span_id must be 8 bytes, got ${spanId.length}`;
  if (isZero(spanId)) return 'span_id is all zeroes';
  if (parent.length !== 0 && parent.length !== 8) return `parent_span_id must be empty or 8 bytes, got ${parent.length}`;
  return undefined;
}

export interface IngestOptions {
  /**
   * deployment.environment(.name) added to resources that lack it, as the generated collector's
   * `resource` processor does (insert: never overwrites).
   */
  deploymentEnvironment: string;
}

/**
 * The generated collector's `resource` processor: each of the two environment names that is missing is
 * copied from the other, else set to the default; service.name is copied to SERVICE_NAME_COPY.
 */
function applyResourceProcessor(attrs: Attribute[], fallback: string): void {
  const value = (key: string) => attrs.find((a) => a.key === key);
  const service = value('service.name');
  const current = value(ENVIRONMENT_ATTRIBUTES.current);
  const old = value(ENVIRONMENT_ATTRIBUTES.old);
  if (!current && old) attrs.push({ ...old, key: ENVIRONMENT_ATTRIBUTES.current });
  else if (current && !old) attrs.push({ ...current, key: ENVIRONMENT_ATTRIBUTES.old });
  else if (!current && !old && fallback) {
    for (const key of [ENVIRONMENT_ATTRIBUTES.current, ENVIRONMENT_ATTRIBUTES.old]) attrs.push({ key, type: 'string', value: fallback });
  }
  if (service && !value(SERVICE_NAME_COPY)) attrs.push({ ...service, key: SERVICE_NAME_COPY });
}

export interface ConvertedSpans {
  spans: StoredSpan[];
  /** Spans that could not be stored, and why (distinct reasons). */
  rejected: number;
  reasons: string[];
}

/** Resources repeat in every request from one process: share one object per distinct resource. */
const RESOURCE_CACHE_LIMIT = 1024;

export type TraceConverter = (request: protobuf.Message) => ConvertedSpans;

const SPAN_KINDS = new Set([0, 1, 2, 3, 4, 5]);

export function createTraceConverter(options: IngestOptions): TraceConverter {
  // Bounded, so a sender with ever-changing resources cannot grow it: existing spans keep their objects.
  const resources = new Map<string, SpanResource>();
  const internResource = (attrs: Attribute[]): SpanResource => {
    applyResourceProcessor(attrs, options.deploymentEnvironment);
    const key = JSON.stringify(attrs);
    const cached = resources.get(key);
    if (cached) return cached;
    const serviceName = attrs.find((a) => a.key === 'service.name');
    const resource: SpanResource = { serviceName: serviceName ? String(serviceName.value ?? '') : '', attributes: attrs };
    if (resources.size >= RESOURCE_CACHE_LIMIT) resources.clear();
    resources.set(key, resource);
    return resource;
  };

  return (request) => {
    const spans: StoredSpan[] = [];
    const reasons = new Set<string>();
    let rejected = 0;
    for (const rs of (request as unknown as PbTracesRequest).resourceSpans) {
      const resource = internResource(attributes(rs.resource?.attributes));
      for (const ss of rs.scopeSpans) {
        const scope: SpanScope = { name: ss.scope?.name ?? '', version: ss.scope?.version ?? '' };
        for (const span of ss.spans) {
          const invalid = invalidIds(span);
          if (invalid) {
            rejected++;
            reasons.add(invalid);
            continue;
          }
          spans.push(storedSpan(span, resource, scope));
        }
      }
    }
    return { spans, rejected, reasons: [...reasons] };
  };
}

function storedSpan(span: PbSpan, resource: SpanResource, scope: SpanScope): StoredSpan {
  const parent = toBuffer(span.parentSpanId);
  return {
    traceId: toBuffer(span.traceId).toString('hex'),
    spanId: toBuffer(span.spanId).toString('hex'),
    parentSpanId: parent.length === 0 || isZero(parent) ? '' : parent.toString('hex'),
    name: span.name,
    kind: (SPAN_KINDS.has(span.kind) ? span.kind : 0) as SpanKindNumber,
    startUs: nanosToMicros(span.startTimeUnixNano),
    durationUs: durationMicros(span.startTimeUnixNano, span.endTimeUnixNano),
    attributes: attributes(span.attributes),
    events: span.events.map((e) => ({ timeUs: nanosToMicros(e.timeUnixNano), name: e.name, attributes: attributes(e.attributes) })),
    links: span.links.map((l) => ({
      traceId: toBuffer(l.traceId).toString('hex'),
      spanId: toBuffer(l.spanId).toString('hex'),
      attributes: attributes(l.attributes),
    })),
    statusCode: (span.status?.code === 1 || span.status?.code === 2 ? span.status.code : 0) as StatusCodeNumber,
    statusMessage: span.status?.message ?? '',
    traceState: span.traceState,
    resource,
    scope,
  };
}

interface PbMetricsRequest {
  resourceMetrics: Array<{ scopeMetrics: Array<{ metrics: Array<Record<string, { dataPoints?: unknown[] } | string | undefined>> }> }>;
}
interface PbLogsRequest {
  resourceLogs: Array<{ scopeLogs: Array<{ logRecords: unknown[] }> }>;
}

/** Data points (metrics) or log records (logs) in a request: what `up --local` counts instead of storing. */
export function countItems(signal: Exclude<Signal, 'traces'>, request: protobuf.Message): number {
  let count = 0;
  if (signal === 'metrics') {
    for (const rm of (request as unknown as PbMetricsRequest).resourceMetrics) {
      for (const sm of rm.scopeMetrics) {
        for (const metric of sm.metrics) {
          const kind = metric.data; // the oneof: which of gauge/sum/histogram/... is set
          const data = typeof kind === 'string' ? metric[kind] : undefined;
          if (typeof data === 'object' && data) count += data.dataPoints?.length ?? 0;
        }
      }
    }
  } else {
    for (const rl of (request as unknown as PbLogsRequest).resourceLogs) {
      for (const sl of rl.scopeLogs) count += sl.logRecords.length;
    }
  }
  return count;
}

const REJECTED_FIELD: Record<Signal, string> = {
  traces: 'rejectedSpans',
  metrics: 'rejectedDataPoints',
  logs: 'rejectedLogRecords',
};

export interface PartialSuccess {
  rejected: number;
  message: string;
}

/**
 * The Export response. Everything accepted: an empty message (`{}` in JSON). Otherwise `partial_success`
 * with the count and the reason (the OTLP spec: partial success is never an empty object).
 */
export function encodeResponse(signal: Signal, encoding: Encoding, partial?: PartialSuccess): Buffer {
  const body: Record<string, unknown> = partial
    ? { partialSuccess: { [REJECTED_FIELD[signal]]: String(partial.rejected), errorMessage: partial.message } }
    : {};
  if (encoding === 'json') return Buffer.from(JSON.stringify(body));
  const { response } = otlpTypes().signals[signal];
  return Buffer.from(response.encode(response.fromObject(body)).finish());
}

/** gRPC status codes used in google.rpc.Status bodies. */
export const RpcCode = { Unknown: 2, InvalidArgument: 3, Unimplemented: 12 } as const;

/** A google.rpc.Status body, as the collector writes with every OTLP/HTTP error. */
export function encodeStatus(encoding: Encoding, code: number, message: string): Buffer {
  if (encoding === 'json') return Buffer.from(JSON.stringify({ code, message }));
  const { status } = otlpTypes();
  return Buffer.from(status.encode(status.fromObject({ code, message })).finish());
}
