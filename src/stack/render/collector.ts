/**
 * otel-collector.yaml for otel/opentelemetry-collector-contrib (see COLLECTOR_DISTRIBUTION). Every key
 * was checked against the component sources of that release; the spanmetrics names come from
 * ../spanmetrics.ts so the dashboard and the checks read the same contract.
 */
import { collectorMemoryLimiter, isKubernetes, KUBERNETES_RESOURCES } from '../kubernetes.js';
import { CONTAINER_PORTS, DEPLOYMENT_ENV_VAR, SERVICE_NAMES, type StackModel } from '../model.js';
import {
  PROMETHEUS_TRANSLATION_STRATEGY,
  SPANMETRICS_DIMENSIONS,
  SPANMETRICS_DURATION_BUCKETS_MS,
  SPANMETRICS_DURATION_UNIT,
  SPANMETRICS_FLUSH_INTERVAL,
  SPANMETRICS_NAMESPACE,
} from '../spanmetrics.js';
import { renderYaml, type KeyComment } from './yaml.js';

export const COLLECTOR_CONFIG_FILE = 'otel-collector.yaml';
/** Where the contrib image reads its config. */
export const COLLECTOR_CONFIG_PATH = '/etc/otelcol-contrib/config.yaml';
/** Exporter id for Jaeger: `otlp_grpc` is the OTLP/gRPC exporter's name since collector v0.144 (`otlp` is its deprecated alias). */
export const JAEGER_EXPORTER = 'otlp_grpc/jaeger';

/** A duration in the collector's Go syntax: 250ms, 2.5s, 60s. */
export function goDuration(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${ms / 1000}s`;
}

/** Whether the collector thins the traces it sends to Jaeger (the metrics always see every span). */
export function samplesJaegerTraces(model: StackModel): boolean {
  return model.has('jaeger') && model.options.samplingPercent < 100;
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

  const pipelines: Record<string, CollectorPipeline> = {
    traces: {
      receivers: ['otlp'],
      processors: [...common, 'batch'],
      exporters: [...(jaeger && !sampled ? [JAEGER_EXPORTER] : []), 'spanmetrics', 'debug'],
    },
    ...(sampled
      ? { 'traces/jaeger': { receivers: ['otlp'], processors: [...common, 'probabilistic_sampler', 'batch'], exporters: [JAEGER_EXPORTER] } }
      : {}),
    'metrics/spanmetrics': { receivers: ['spanmetrics'], processors: ['batch'], exporters: ['prometheus'] },
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
      // On Kubernetes the limits come from the Deployment's memory limit; in a compose container, from its memory.
      memory_limiter: isKubernetes(options) ? collectorMemoryLimiter() : { check_interval: '1s', limit_percentage: 80, spike_limit_percentage: 25 },
      resource: {
        attributes: [
          { key: 'deployment.environment', value: `\${env:${DEPLOYMENT_ENV_VAR}:-${options.environment}}`, action: 'insert' },
        ],
      },
      ...(sampled ? { probabilistic_sampler: { sampling_percentage: options.samplingPercent } } : {}),
      batch: {},
    },
    connectors: {
      spanmetrics: {
        namespace: SPANMETRICS_NAMESPACE,
        histogram: {
          unit: SPANMETRICS_DURATION_UNIT,
          explicit: { buckets: SPANMETRICS_DURATION_BUCKETS_MS.map(goDuration) },
        },
        dimensions: SPANMETRICS_DIMENSIONS.map((name) => ({ name })),
        metrics_flush_interval: SPANMETRICS_FLUSH_INTERVAL,
      },
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
  const kube = isKubernetes(options);
  const comments: KeyComment[] = [
    [['extensions'], 'health_check answers GET / with 200 while the collector runs (used by `loom-otel up` and `doctor`).\nInside a container it must listen on 0.0.0.0: since v0.104 the default is localhost.'],
    [['receivers'], 'OTLP in: gRPC on 4317 (what Loom agents use) and HTTP on 4318 (/v1/traces, /v1/metrics).'],
    [['processors'], 'Processors run in the order a pipeline lists them.'],
    [
      ['processors', 'memory_limiter'],
      kube
        ? `Refuses data before the pod reaches its ${KUBERNETES_RESOURCES.collector.limits.memoryMiB}Mi memory limit (first in every pipeline): 80% of it, spikes 25%.`
        : 'Refuses data before the container runs out of memory (first in every pipeline).',
    ],
    [
      ['processors', 'resource'],
      `Sets deployment.environment on spans that lack it: from ${DEPLOYMENT_ENV_VAR} (${kube ? "the Deployment's env" : 'docker-compose.yml'}), else "${options.environment}".`,
    ],
    [['processors', 'batch'], 'Groups data into batches before export (last in every pipeline).'],
    [
      ['connectors', 'spanmetrics'],
      'Turns every span into RED metrics: traces_span_metrics_calls_total and\ntraces_span_metrics_duration_milliseconds_* labelled service_name, span_name, span_kind,\nstatus_code and the Loom dimensions below (llm.model becomes the label llm_model).',
    ],
    [['exporters'], 'Where data goes out.'],
    [['exporters', 'prometheus'], `Serves the spanmetrics and the application metrics for Prometheus to scrape on :${CONTAINER_PORTS.collectorMetrics}/metrics.`],
    [['exporters', 'debug'], `Logs one line per batch: \`${kube ? `kubectl logs deploy/${SERVICE_NAMES.collector}` : `docker compose logs ${SERVICE_NAMES.collector}`}\` shows that data arrives.`],
    [['service', 'telemetry'], `The collector's own metrics on :${CONTAINER_PORTS.collectorSelfMetrics}/metrics (scraped by Prometheus).`],
    [
      ['service', 'pipelines'],
      'A component does nothing unless a pipeline names it. spanmetrics is an exporter of the traces\npipeline and the receiver of metrics/spanmetrics.',
    ],
  ];
  if (model.has('jaeger')) {
    const path = kube ? 'to the jaeger Service in this namespace (plaintext inside the cluster)' : 'on the compose network (plaintext inside it)';
    comments.push([['exporters', JAEGER_EXPORTER], `Sends traces to Jaeger over OTLP/gRPC ${path}.`]);
  }
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
