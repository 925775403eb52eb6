/**
 * What `up --local` keeps of a span: plain strings and numbers only (no Buffers or protobuf objects), so a
 * stored span never pins the request it came in.
 */

/** One OTLP AnyValue. `int` is a number when it is a safe integer, else its decimal string. */
export type TypedValue =
  | { type: 'string'; value: string }
  | { type: 'bool'; value: boolean }
  | { type: 'int'; value: number | string }
  | { type: 'double'; value: number }
  /** Base64, as OTLP/JSON and Jaeger write bytes. */
  | { type: 'bytes'; value: string }
  | { type: 'array'; value: TypedValue[] }
  | { type: 'kvlist'; value: Attribute[] }
  | { type: 'empty'; value: null };

export type Attribute = { key: string } & TypedValue;

/** The resource a batch of spans came from; shared by every span of that resource. */
export interface SpanResource {
  /** `service.name`, or "" when the resource has none. */
  serviceName: string;
  attributes: Attribute[];
}

export interface SpanScope {
  name: string;
  version: string;
}

export interface SpanEvent {
  /** Microseconds since the epoch. */
  timeUs: number;
  name: string;
  attributes: Attribute[];
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  attributes: Attribute[];
}

/** OTLP SpanKind numbers: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
export type SpanKindNumber = 0 | 1 | 2 | 3 | 4 | 5;
/** Each SpanKindNumber's name, as Jaeger's `span.kind` tag and the --json span lines write it. */
export const SPAN_KIND_NAMES = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;
/** OTLP StatusCode numbers: 0 unset, 1 ok, 2 error. */
export type StatusCodeNumber = 0 | 1 | 2;

export interface StoredSpan {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits. */
  spanId: string;
  /** 16 hex digits, or "" for a root span. */
  parentSpanId: string;
  name: string;
  kind: SpanKindNumber;
  /** Microseconds since the epoch. */
  startUs: number;
  durationUs: number;
  attributes: Attribute[];
  events: SpanEvent[];
  links: SpanLink[];
  statusCode: StatusCodeNumber;
  statusMessage: string;
  traceState: string;
  resource: SpanResource;
  scope: SpanScope;
}

export function attribute(attributes: readonly Attribute[], key: string): Attribute | undefined {
  return attributes.find((a) => a.key === key);
}

/** A value as a plain string, the way the collector's `AsString()` does for labels and Jaeger tags. */
export function valueAsString(value: TypedValue): string {
  switch (value.type) {
    case 'string':
    case 'bytes':
      return value.value;
    case 'bool':
    case 'int':
    case 'double':
      return String(value.value);
    case 'empty':
      return '';
    case 'array':
    case 'kvlist':
      return JSON.stringify(valueAsJson(value));
  }
}

/** A value as plain JSON (arrays and maps nested), for display and JSON lines. */
export function valueAsJson(value: TypedValue): unknown {
  switch (value.type) {
    case 'array':
      return value.value.map(valueAsJson);
    case 'kvlist':
      return Object.fromEntries(value.value.map((a) => [a.key, valueAsJson(a)]));
    default:
      return value.value;
  }
}
