/**
 * otel-collector.yaml for otel/opentelemetry-collector-contrib (see COLLECTOR_DISTRIBUTION). Every key
 * was checked against the component sources of that release; the spanmetrics names come from
 * ../spanmetrics.ts so the dashboard and the checks read the same contract.
 */
import { CONTAINER_PORTS, DEPLOYMENT_ENV_VAR, SERVICE_NAMES, type StackModel } from '../model.js';
import {
  ENVIRONMENT_ATTRIBUTES,
  PROMETHEUS_TRANSLATION_STRATEGY,
  SERVICE_NAME_COPY,
  SPANMETRICS_BASE_LABELS,
  SPANMETRICS_CONNECTOR,
  SPANMETRICS_DIMENSIONS,
  SPANMETRICS_DURATION_BUCKETS_MS,
  SPANMETRICS_DURATION_UNIT,
  SPANMETRICS_FLUSH_INTERVAL,
  SPANMETRICS_NAMESPACE,
  SPANMETRICS_SERIES,
} from '../spanmetrics.js';
import {
  TOKEN_SOURCES,
  TOKEN_TYPE_ATTRIBUTE,
  TOKEN_TYPES,
  TOKENS_ACCUMULATOR,
  TOKENS_CONNECTOR,
  TOKENS_DESCRIPTION,
  TOKENS_METRIC,
  TOKENS_PIPELINE,
  TOKENS_SERIES,
  TOKEN_TYPE_LABEL,
  type TokenType,
} from '../tokens.js';
import { renderYaml, type KeyComment } from './yaml.js';

export const COLLECTOR_CONFIG_FILE = 'otel-collector.yaml';
/** Where the contrib image reads its config. */
export const COLLECTOR_CONFIG_PATH = '/etc/otelcol-contrib/config.yaml';
/** Exporter id for Jaeger: `otlp_grpc` is the OTLP/gRPC exporter's name since collector v0.144 (`otlp` is its deprecated alias). */
export const JAEGER_EXPORTER = 'otlp_grpc/jaeger';

/** The labels every span-metrics series carries, as the comment lists them. */
const SPANMETRICS_LABEL_LIST = `${Object.values(SPANMETRICS_BASE_LABELS).join(', ')},\ncollector_instance_id (one value per collector start) and, from the exporter, job, instance, otel_scope_*`;

/** A duration in the collector's Go syntax: 250ms, 2.5s, 60s. */
export function goDuration(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${ms / 1000}s`;
}

/** Whether the collector thins the traces it sends to Jaeger (the metrics always see every span). */
export function samplesJaegerTraces(model: StackModel): boolean {
  return model.has('jaeger') && model.options.samplingPercent < 100;
}

/** The OTTL condition that a span's count of this type is read from TOKEN_SOURCES[index] (see TOKEN_SOURCES). */
function tokenCondition(type: TokenType, index: number): string {
  const positive = (attribute: string) => `Int(span.attributes["${attribute}"]) > 0`;
  const earlier = TOKEN_SOURCES.slice(0, index).map((source) => `not (${positive(source.count[type])})`);
  return [positive(TOKEN_SOURCES[index]!.count[type]), ...earlier].join(' and ');
}

/** The signal_to_metrics connector: one definition of the token counter per spelling and token type. */
function tokensConnector(): Record<string, unknown> {
  return {
    // A malformed count is logged and skipped; by default an OTTL error would fail the whole batch.
    error_mode: 'ignore',
    spans: TOKEN_TYPES.flatMap((type) =>
      TOKEN_SOURCES.map((source, index) => ({
        name: TOKENS_METRIC,
        description: TOKENS_DESCRIPTION,
        conditions: [tokenCondition(type, index)],
        attributes: [{ key: TOKEN_TYPE_ATTRIBUTE, default_value: type }, ...source.labels.map((key) => ({ key, optional: true }))],
        sum: { value: `Int(span.attributes["${source.count[type]}"])`, monotonic: true },
      })),
    ),
  };
}

export interface CollectorPipeline {
  receivers: string[];
  processors?: string[];
  exporters: string[];
}

export function buildCollectorConfig(model: StackModel): Record<string, unknown> {
  const { options } = model;
  const jaeger = model.has('jaeger');
  // Sampling only thins what Jaeger stores: spanmetrics always sees every span, so rates stay exact.
  const sampled = samplesJaegerTraces(model);
  const common = ['memory_limiter', 'resource'];
  const environment = `\${env:${DEPLOYMENT_ENV_VAR}:-${options.environment}}`;

  const pipelines: Record<string, CollectorPipeline> = {
    traces: {
      receivers: ['otlp'],
      processors: [...common, 'batch'],
      exporters: [...(jaeger && !sampled ? [JAEGER_EXPORTER] : []), SPANMETRICS_CONNECTOR, TOKENS_CONNECTOR, 'debug'],
    },
    ...(sampled
      ? { 'traces/jaeger': { receivers: ['otlp'], processors: [...common, 'probabilistic_sampler', 'batch'], exporters: [JAEGER_EXPORTER] } }
      : {}),
    [`metrics/${SPANMETRICS_CONNECTOR}`]: { receivers: [SPANMETRICS_CONNECTOR], processors: ['batch'], exporters: ['prometheus'] },
    [TOKENS_PIPELINE]: { receivers: [TOKENS_CONNECTOR], processors: [TOKENS_ACCUMULATOR], exporters: ['prometheus'] },
    metrics: { receivers: ['otlp'], processors: [...common, 'batch'], exporters: ['prometheus'] },
  };

  return {
    extensions: { health_check: { endpoint: `0.0.0.0:${CONTAINER_PORTS.collectorHealth}` } },
    receivers: {
      otlp: {
        protocols: {
          grpc: { endpoint: `0.0.0.0:${CONTAINER_PORTS.otlpGrpc}` },
          http: { endpoint: `0.0.0.0:${CONTAINER_PORTS.otlpHttp}` },
        },
      },
    },
    processors: {
      memory_limiter: { check_interval: '1s', limit_percentage: 80, spike_limit_percentage: 25 },
      resource: {
        // Both names of the environment: a copy of whichever the agent set, else DEPLOYMENT_ENV or the default.
        attributes: [
          { key: ENVIRONMENT_ATTRIBUTES.current, from_attribute: ENVIRONMENT_ATTRIBUTES.old, action: 'insert' },
          { key: ENVIRONMENT_ATTRIBUTES.old, from_attribute: ENVIRONMENT_ATTRIBUTES.current, action: 'insert' },
          ...[ENVIRONMENT_ATTRIBUTES.current, ENVIRONMENT_ATTRIBUTES.old].map((key) => ({ key, value: environment, action: 'insert' })),
          { key: SERVICE_NAME_COPY, from_attribute: 'service.name', action: 'insert' },
        ],
      },
      ...(sampled ? { probabilistic_sampler: { sampling_percentage: options.samplingPercent } } : {}),
      batch: {},
      [TOKENS_ACCUMULATOR]: {},
    },
    connectors: {
      [SPANMETRICS_CONNECTOR]: {
        namespace: SPANMETRICS_NAMESPACE,
        histogram: {
          unit: SPANMETRICS_DURATION_UNIT,
          explicit: { buckets: SPANMETRICS_DURATION_BUCKETS_MS.map(goDuration) },
        },
        dimensions: SPANMETRICS_DIMENSIONS.map((name) => ({ name })),
        metrics_flush_interval: SPANMETRICS_FLUSH_INTERVAL,
      },
      [TOKENS_CONNECTOR]: tokensConnector(),
    },
    exporters: {
      ...(jaeger
        ? { [JAEGER_EXPORTER]: { endpoint: `${SERVICE_NAMES.jaeger}:${CONTAINER_PORTS.jaegerOtlpGrpc}`, tls: { insecure: true } } }
        : {}),
      prometheus: {
        endpoint: `0.0.0.0:${CONTAINER_PORTS.collectorMetrics}`,
        translation_strategy: PROMETHEUS_TRANSLATION_STRATEGY,
      },
      debug: { verbosity: 'basic' },
    },
    service: {
      extensions: ['health_check'],
      telemetry: {
        metrics: {
          level: 'normal',
          readers: [{ pull: { exporter: { prometheus: { host: '0.0.0.0', port: CONTAINER_PORTS.collectorSelfMetrics } } } }],
        },
      },
      pipelines,
    },
  };
}

export function renderCollectorConfig(model: StackModel): string {
  const { options } = model;
  const comments: KeyComment[] = [
    [['extensions'], 'health_check answers GET / with 200 while the collector runs (used by `loom-otel up` and `doctor`).\nInside a container it must listen on 0.0.0.0: since v0.104 the default is localhost.'],
    [['receivers'], 'OTLP in: gRPC on 4317 (what Loom agents use) and HTTP on 4318 (/v1/traces, /v1/metrics).'],
    [['processors'], 'Processors run in the order a pipeline lists them.'],
    [['processors', 'memory_limiter'], 'Refuses data before the container runs out of memory (first in every pipeline).'],
    [
      ['processors', 'resource'],
      `Gives every resource both deployment.environment and deployment.environment.name (the semantic\nconventions' newer name): a copy of whichever the agent set, else ${DEPLOYMENT_ENV_VAR} (docker-compose.yml), else "${options.environment}".\nAlso copies service.name to ${SERVICE_NAME_COPY}: Jaeger keeps that as a process tag (service.name itself becomes the\nprocess's service), which Grafana's "metrics for this span" links need to select the span's service.`,
    ],
    [['processors', 'batch'], 'Groups data into batches before export (last in every pipeline).'],
    [
      ['processors', TOKENS_ACCUMULATOR],
      `Adds up the token counts ${TOKENS_CONNECTOR} emits per batch into running totals: the prometheus\nexporter cannot add up deltas that carry no start time.`,
    ],
    [
      ['connectors', SPANMETRICS_CONNECTOR],
      `Turns every span into RED metrics: ${SPANMETRICS_SERIES.calls} and\n${SPANMETRICS_SERIES.durationBucket.replace(/_bucket$/, '')}_{bucket,sum,count}, labelled\n${SPANMETRICS_LABEL_LIST}.\nEach dimension below is a label only on series whose spans had it (llm.model becomes llm_model).\n("spanmetrics", its old name, still works but logs a deprecation warning at every start.)`,
    ],
    [
      ['connectors', TOKENS_CONNECTOR],
      `Sums the LLM token counts on spans into ${TOKENS_SERIES}{${TOKEN_TYPE_LABEL}="input"|"output"}, labelled by\nmodel, provider and agent as the span spells them (llm_model, llm_provider, agent_id or\ngen_ai_request_model, gen_ai_provider_name, gen_ai_agent_name) and by service (job).\nCounts are read from ${TOKEN_SOURCES.map((t) => t.count.input.replace(/\.[^.]*$/, '.*')).join(', ')}, in that order: a span is counted once.`,
    ],
    [['exporters'], 'Where data goes out.'],
    [
      ['exporters', 'prometheus'],
      `Serves the span metrics, the token counters and the application metrics for Prometheus to scrape on\n:${CONTAINER_PORTS.collectorMetrics}/metrics. Every series also gets job (service.namespace/service.name), instance\n(service.instance.id) and otel_scope_name/_version/_schema_url; other resource attributes go to target_info.`,
    ],
    [['exporters', 'debug'], 'Logs one line per batch: `docker compose logs otel-collector` shows that data arrives.'],
    [['service', 'telemetry'], `The collector's own metrics on :${CONTAINER_PORTS.collectorSelfMetrics}/metrics (scraped by Prometheus).`],
    [
      ['service', 'pipelines'],
      `A component does nothing unless a pipeline names it. Each connector is an exporter of the traces\npipeline and the receiver of its metrics pipeline.`,
    ],
  ];
  if (model.has('jaeger')) comments.push([['exporters', JAEGER_EXPORTER], 'Sends traces to Jaeger over OTLP/gRPC on the compose network (plaintext inside it).']);
  if (samplesJaegerTraces(model)) {
    comments.push([
      ['processors', 'probabilistic_sampler'],
      `Keeps ${options.samplingPercent}% of traces, only in the pipeline to Jaeger: the metrics still count every span.`,
    ]);
  }
  return renderYaml(buildCollectorConfig(model), {
    header: `OpenTelemetry Collector (contrib) config, generated by loom-otel init.\nRe-run \`loom-otel init\` to change it; \`loom-otel init --check\` tells whether it was edited.`,
    comments,
    inlineScalarLists: true,
  });
}
