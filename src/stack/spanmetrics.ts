/**
 * The contract of the RED metrics the generated collector derives from spans (the contrib `span_metrics`
 * connector feeding the `prometheus` exporter). The collector config renderer, the Grafana dashboard, the
 * checks and `up --local`'s exposition all read it, so a dashboard query can only name series that exist.
 *
 * Verified against opentelemetry-collector-contrib v0.158.0, the pin (connector/spanmetricsconnector: type
 * `span_metrics`, `spanmetrics` being its deprecated alias that logs a warning at every start; DefaultNamespace
 * "traces.span.metrics", metrics "calls" (sum) and "duration" (histogram, unit "ms"), dimensions
 * service.name, span.name, span.kind, status.code, plus collector.instance.id (feature gate
 * connector.spanmetrics.includeCollectorInstanceID, beta: on by default); exporter/prometheusexporter: translation_strategy
 * UnderscoreEscapingWithSuffixes appends the unit and `_total`, dots become underscores).
 * Kept free of imports so any module can read it cheaply.
 */

/** The connector's component id in the generated config (its type at v0.155.0 and later, `spanmetrics` at v0.140.1; now the deprecated alias). */
export const SPANMETRICS_CONNECTOR = 'span_metrics';

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
 * One thing an agent records, under Loom's attribute and under the OpenTelemetry GenAI conventions'
 * (what other agent frameworks emit). Both are dimensions, so a series carries whichever its span had;
 * the dashboard groups by both labels and shows the one present.
 */
export const AGENT_ATTRIBUTES = {
  agent: { loom: 'agent.id', genAi: 'gen_ai.agent.name' },
  tool: { loom: 'tool.name', genAi: 'gen_ai.tool.name' },
  model: { loom: 'llm.model', genAi: 'gen_ai.request.model' },
  provider: { loom: 'llm.provider', genAi: 'gen_ai.provider.name' },
} as const;
export type AgentAttribute = keyof typeof AGENT_ATTRIBUTES;

/**
 * The deployment environment under its old name and the semantic conventions' new one; the collector's
 * resource processor makes sure a resource carries both (copying whichever the agent set).
 */
export const ENVIRONMENT_ATTRIBUTES = { old: 'deployment.environment', current: 'deployment.environment.name' } as const;

/**
 * A copy of service.name, under the span-metrics label's name, that the collector's resource processor
 * adds to every resource. Jaeger moves service.name itself into the process's serviceName, and Grafana's
 * trace-to-metrics links (`$__tags`) read only span and process tags: the copy lets a "metrics for this
 * span" link select the span's service.
 */
export const SERVICE_NAME_COPY = 'service_name';

/**
 * Span (or resource) attributes added as dimensions: the agent attributes above in both spellings, plus
 * the deployment environment. A series has the label only when the span had the attribute (no defaults
 * are configured), so queries filter on span_name first.
 */
export const SPANMETRICS_DIMENSIONS = [
  AGENT_ATTRIBUTES.agent.loom,
  AGENT_ATTRIBUTES.agent.genAi,
  AGENT_ATTRIBUTES.tool.loom,
  AGENT_ATTRIBUTES.tool.genAi,
  AGENT_ATTRIBUTES.model.loom,
  AGENT_ATTRIBUTES.model.genAi,
  AGENT_ATTRIBUTES.provider.loom,
  AGENT_ATTRIBUTES.provider.genAi,
  ENVIRONMENT_ATTRIBUTES.old,
  ENVIRONMENT_ATTRIBUTES.current,
] as const;
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

/**
 * Labels the `prometheus` exporter adds to every series it serves: `job` (service.namespace/service.name
 * of the resource) and `instance` (service.instance.id), when the resource has them, and the
 * instrumentation scope. Other resource attributes go to `target_info` only.
 */
export const EXPORTER_LABELS = ['job', 'instance', 'otel_scope_name', 'otel_scope_version', 'otel_scope_schema_url'] as const;

/** Every label a query on these series may name (`le` exists on the bucket series only). */
export const SPANMETRICS_LABELS: readonly string[] = [
  ...Object.values(SPANMETRICS_BASE_LABELS),
  ...Object.values(SPANMETRICS_DIMENSION_LABELS),
  'le',
  ...EXPORTER_LABELS,
  // collector.instance.id, a default dimension of the real connector: one value per collector start.
  'collector_instance_id',
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
  /** Real Loom code's chat call (FACTS.md), besides the seed's llm.generate. */
  llmChat: 'llm.chat',
  toolInvoke: 'tool.invoke',
  toolCall: 'cognitive.tool_call',
} as const;

/**
 * The spans of each kind of work, as PromQL regular expressions on span_name (anchored by PromQL): Loom's
 * names, and the GenAI conventions' `{operation} {target}` names (`invoke_agent researcher`,
 * `chat deepseek-chat`, `execute_tool web_search`). An unescaped `.` also matches itself.
 */
export const SPAN_NAME_PATTERNS = {
  agentRun: [LOOM_SPAN_NAMES.agentRun, 'invoke_agent .+'],
  llmCall: [LOOM_SPAN_NAMES.llmGenerate, LOOM_SPAN_NAMES.llmChat, 'chat .+', 'text_completion .+', 'generate_content .+'],
  toolCall: [LOOM_SPAN_NAMES.toolInvoke, LOOM_SPAN_NAMES.toolCall, 'execute_tool .+'],
} as const;

