/**
 * The contract of the RED metrics the generated collector derives from spans (the contrib `spanmetrics`
 * connector feeding the `prometheus` exporter). The collector config renderer, the Grafana dashboard, the
 * checks and `up --local`'s exposition all read it, so a dashboard query can only name series that exist.
 *
 * Verified against opentelemetry-collector-contrib (connector/spanmetricsconnector: DefaultNamespace
 * "traces.span.metrics", metrics "calls" (sum) and "duration" (histogram, unit "ms"), dimensions
 * service.name, span.name, span.kind, status.code; exporter/prometheusexporter: translation_strategy
 * UnderscoreEscapingWithSuffixes appends the unit and `_total`, dots become underscores).
 * Kept free of imports so any module can read it cheaply.
 */

/** The connector's `namespace` (its default, written out explicitly so the names cannot drift). */
export const SPANMETRICS_NAMESPACE = 'traces.span.metrics';

/** Unit of the duration histogram; the exporter turns `ms` into the `_milliseconds` suffix. */
export const SPANMETRICS_DURATION_UNIT = 'ms';

/** How often the connector emits what it aggregated; short, so a test trace shows up quickly. */
export const SPANMETRICS_FLUSH_INTERVAL = '15s';

/** The `prometheus` exporter's translation strategy the names below assume (written into the config). */
export const PROMETHEUS_TRANSLATION_STRATEGY = 'UnderscoreEscapingWithSuffixes';

/** Prometheus series names, as scraped from the collector's exporter. */
export const SPANMETRICS_SERIES = {
  /** Counter: spans seen, per label set (errors included). */
  calls: 'traces_span_metrics_calls_total',
  durationBucket: 'traces_span_metrics_duration_milliseconds_bucket',
  durationSum: 'traces_span_metrics_duration_milliseconds_sum',
  durationCount: 'traces_span_metrics_duration_milliseconds_count',
} as const;

/** Labels every spanmetrics series carries (the connector's fixed dimensions). */
export const SPANMETRICS_BASE_LABELS = {
  serviceName: 'service_name',
  spanName: 'span_name',
  spanKind: 'span_kind',
  statusCode: 'status_code',
} as const;

/**
 * Span (or resource) attributes added as dimensions: Loom's agent, tool and LLM attributes, plus the
 * deployment environment the collector's resource processor sets. A series has the label only when the
 * span had the attribute (no defaults are configured), so queries filter on span_name first.
 */
export const SPANMETRICS_DIMENSIONS = ['agent.id', 'tool.name', 'llm.model', 'llm.provider', 'deployment.environment'] as const;
export type SpanmetricsDimension = (typeof SPANMETRICS_DIMENSIONS)[number];

/** Attribute key -> Prometheus label name, as the exporter's underscore escaping does it. */
export function prometheusLabelName(attribute: string): string {
  const escaped = attribute.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(escaped) ? `key_${escaped}` : escaped;
}

/** Dimension labels by attribute key, e.g. `llm.model` -> `llm_model`. */
export const SPANMETRICS_DIMENSION_LABELS: Readonly<Record<SpanmetricsDimension, string>> = Object.fromEntries(
  SPANMETRICS_DIMENSIONS.map((d) => [d, prometheusLabelName(d)]),
) as Record<SpanmetricsDimension, string>;

/** Every label a query on these series may name (`le` exists on the bucket series only). */
export const SPANMETRICS_LABELS: readonly string[] = [
  ...Object.values(SPANMETRICS_BASE_LABELS),
  ...Object.values(SPANMETRICS_DIMENSION_LABELS),
  'le',
  // Added by the prometheus exporter (from the resource) and by Prometheus' scrape.
  'job',
  'instance',
  'otel_scope_name',
  'otel_scope_version',
  'otel_scope_schema_url',
];

/**
 * Histogram bucket upper bounds in milliseconds. LLM calls and agent runs take seconds to minutes, so
 * the buckets reach 5 minutes rather than the connector's default 15 seconds.
 */
export const SPANMETRICS_DURATION_BUCKETS_MS: readonly number[] = [
  5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 20_000, 30_000, 60_000, 120_000, 300_000,
];

/** Values of the `span_kind` label (the connector writes the OTLP enum names). */
export const SPAN_KIND_VALUES = {
  unspecified: 'SPAN_KIND_UNSPECIFIED',
  internal: 'SPAN_KIND_INTERNAL',
  server: 'SPAN_KIND_SERVER',
  client: 'SPAN_KIND_CLIENT',
  producer: 'SPAN_KIND_PRODUCER',
  consumer: 'SPAN_KIND_CONSUMER',
} as const;

/** Values of the `status_code` label. */
export const STATUS_CODE_VALUES = {
  unset: 'STATUS_CODE_UNSET',
  ok: 'STATUS_CODE_OK',
  error: 'STATUS_CODE_ERROR',
} as const;

/** The Loom span names the dashboard is built on (from the Loom SDK's span catalogue). */
export const LOOM_SPAN_NAMES = {
  agentRun: 'cognitive.run',
  llmGenerate: 'llm.generate',
  toolInvoke: 'tool.invoke',
  toolCall: 'cognitive.tool_call',
} as const;
