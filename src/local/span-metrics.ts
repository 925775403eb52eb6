/**
 * RED metrics from spans, exposed the way the generated collector does it: the contrib `spanmetrics`
 * connector (calls counter + duration histogram per service, span name, kind, status and the configured
 * dimensions) feeding the `prometheus` exporter (which adds the otel_scope_* labels, `job`/`instance`
 * from the resource, and `target_info`). Names, labels and buckets come from the shared contract in
 * src/stack/spanmetrics.ts, so dashboards built on the Docker stack work against `up --local` unchanged.
 */
import {
  SPAN_KIND_VALUES,
  SPANMETRICS_BASE_LABELS,
  SPANMETRICS_DIMENSION_LABELS,
  SPANMETRICS_DIMENSIONS,
  SPANMETRICS_DURATION_BUCKETS_MS,
  SPANMETRICS_SERIES,
  STATUS_CODE_VALUES,
  prometheusLabelName,
} from '../stack/spanmetrics.js';
import { attribute, valueAsString, type SpanResource, type StoredSpan } from './model.js';

/** The instrumentation scope the connector gives the metrics it emits. */
const CONNECTOR_SCOPE_NAME = 'spanmetricsconnector';
/** Label sets kept at most (each costs one histogram): bounds memory when span names are unbounded. */
export const MAX_SERIES = 10_000;

const KIND_VALUES = [
  SPAN_KIND_VALUES.unspecified,
  SPAN_KIND_VALUES.internal,
  SPAN_KIND_VALUES.server,
  SPAN_KIND_VALUES.client,
  SPAN_KIND_VALUES.producer,
  SPAN_KIND_VALUES.consumer,
] as const;
const STATUS_VALUES = [STATUS_CODE_VALUES.unset, STATUS_CODE_VALUES.ok, STATUS_CODE_VALUES.error] as const;

const CALLS_FAMILY = SPANMETRICS_SERIES.calls;
/** The histogram family: the series name without `_bucket`. */
const DURATION_FAMILY = SPANMETRICS_SERIES.durationBucket.replace(/_bucket$/, '');
const TARGET_INFO = 'target_info';

export type Labels = Array<[name: string, value: string]>;

interface Series {
  labels: string;
  calls: number;
  /** Per bucket (not cumulative); the last entry is the +Inf overflow. */
  buckets: number[];
  sumMs: number;
}

/** Prometheus text format label value escaping. */
function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function formatLabels(labels: Labels): string {
  return labels.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',');
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

/** The exporter's job label: service.namespace/service.name (or just service.name). */
export function jobAndInstance(resource: SpanResource): { job?: string; instance?: string } {
  const name = attribute(resource.attributes, 'service.name');
  const namespace = attribute(resource.attributes, 'service.namespace');
  const instance = attribute(resource.attributes, 'service.instance.id');
  return {
    ...(name ? { job: namespace ? `${valueAsString(namespace)}/${valueAsString(name)}` : valueAsString(name) } : {}),
    ...(instance ? { instance: valueAsString(instance) } : {}),
  };
}

/** What a resource contributes to every series of its spans, worked out once per resource. */
interface ResourceLabels {
  id: number;
  serviceName: string;
  job?: string;
  instance?: string;
  /** Value of each dimension on the resource (a span attribute of the same key wins). */
  dimensions: Array<string | undefined>;
}

export class SpanMetrics {
  private readonly series = new Map<string, Series>();
  /** Cache: resource id + span name, kind, status and dimension values -> its series (skips label formatting). */
  private readonly seriesBySpanKey = new Map<string, Series>();
  private readonly resources = new WeakMap<SpanResource, ResourceLabels | null>();
  private nextResourceId = 1;
  /** target_info per job+instance: the exporter emits one for every resource that has both. */
  private readonly targets = new Map<string, string>();
  /** Spans not counted because MAX_SERIES label sets already exist (reported when up --local stops). */
  droppedSpans = 0;

  private resourceLabels(resource: SpanResource): ResourceLabels | null {
    let labels = this.resources.get(resource);
    if (labels !== undefined) return labels;
    const serviceName = attribute(resource.attributes, 'service.name');
    // The connector skips resources without service.name.
    labels = serviceName
      ? {
          id: this.nextResourceId++,
          serviceName: valueAsString(serviceName),
          ...jobAndInstance(resource),
          dimensions: SPANMETRICS_DIMENSIONS.map((d) => {
            const found = attribute(resource.attributes, d);
            return found ? valueAsString(found) : undefined;
          }),
        }
      : null;
    this.resources.set(resource, labels);
    if (labels?.job !== undefined && labels.instance !== undefined) this.recordTarget(resource, labels.job, labels.instance);
    return labels;
  }

  record(span: StoredSpan): void {
    const resource = this.resourceLabels(span.resource);
    if (!resource) return;
    // A dimension is read from the span first, then from its resource.
    const dimensions = SPANMETRICS_DIMENSIONS.map((d, i) => {
      const found = attribute(span.attributes, d);
      return found ? valueAsString(found) : resource.dimensions[i];
    });
    const spanKey = `${resource.id}\u0000${span.name}\u0000${span.kind}\u0000${span.statusCode}\u0000${dimensions.map((d) => (d === undefined ? '\u0001' : d)).join('\u0000')}`;
    const series = this.seriesBySpanKey.get(spanKey) ?? this.seriesFor(resource, span, dimensions);
    if (!series) {
      this.droppedSpans++;
      return;
    }
    if (this.seriesBySpanKey.size >= MAX_SERIES * 2) this.seriesBySpanKey.clear();
    this.seriesBySpanKey.set(spanKey, series);
    const ms = span.durationUs / 1000;
    series.calls++;
    series.sumMs += ms;
    // Upper bounds are inclusive (le), as in the connector.
    let index = SPANMETRICS_DURATION_BUCKETS_MS.findIndex((bound) => ms <= bound);
    if (index === -1) index = SPANMETRICS_DURATION_BUCKETS_MS.length;
    series.buckets[index]!++;
  }

  /** The series of a label set, created if there is room. */
  private seriesFor(resource: ResourceLabels, span: StoredSpan, dimensions: Array<string | undefined>): Series | undefined {
    const labels: Labels = [
      [SPANMETRICS_BASE_LABELS.serviceName, resource.serviceName],
      [SPANMETRICS_BASE_LABELS.spanName, span.name],
      [SPANMETRICS_BASE_LABELS.spanKind, KIND_VALUES[span.kind]],
      [SPANMETRICS_BASE_LABELS.statusCode, STATUS_VALUES[span.statusCode]],
      ['otel_scope_name', CONNECTOR_SCOPE_NAME],
      ['otel_scope_version', ''],
      ['otel_scope_schema_url', ''],
    ];
    SPANMETRICS_DIMENSIONS.forEach((d, i) => {
      const value = dimensions[i];
      if (value !== undefined) labels.push([SPANMETRICS_DIMENSION_LABELS[d], value]);
    });
    if (resource.job !== undefined) labels.push(['job', resource.job]);
    if (resource.instance !== undefined) labels.push(['instance', resource.instance]);
    labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const key = formatLabels(labels);
    let series = this.series.get(key);
    if (!series) {
      if (this.series.size >= MAX_SERIES) return undefined;
      series = { labels: key, calls: 0, buckets: new Array<number>(SPANMETRICS_DURATION_BUCKETS_MS.length + 1).fill(0), sumMs: 0 };
      this.series.set(key, series);
    }
    return series;
  }

  private recordTarget(resource: SpanResource, job: string, instance: string): void {
    const key = `${job}\u00ff${instance}`;
    if (this.targets.has(key) || this.targets.size >= MAX_SERIES) return;
    const labels = new Map<string, string>();
    for (const attr of resource.attributes) {
      if (attr.key === 'service.name' || attr.key === 'service.namespace' || attr.key === 'service.instance.id') continue;
      const name = prometheusLabelName(attr.key);
      const existing = labels.get(name);
      labels.set(name, existing === undefined ? valueAsString(attr) : `${existing};${valueAsString(attr)}`);
    }
    labels.set('job', job);
    labels.set('instance', instance);
    this.targets.set(key, formatLabels([...labels.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))));
  }

  /** The exposition in Prometheus text format 0.0.4, families and series in a stable order. */
  render(): string {
    const lines: string[] = [];
    const series = [...this.series.values()].sort((a, b) => (a.labels < b.labels ? -1 : 1));
    if (this.targets.size > 0) {
      lines.push(`# HELP ${TARGET_INFO} Target metadata`, `# TYPE ${TARGET_INFO} gauge`);
      for (const labels of [...this.targets.values()].sort()) lines.push(`${TARGET_INFO}{${labels}} 1`);
    }
    if (series.length > 0) {
      lines.push(
        `# HELP ${CALLS_FAMILY} Spans seen, by service, span name, span kind and status (spanmetrics).`,
        `# TYPE ${CALLS_FAMILY} counter`,
      );
      for (const s of series) lines.push(`${CALLS_FAMILY}{${s.labels}} ${s.calls}`);
      lines.push(
        `# HELP ${DURATION_FAMILY} Span durations in milliseconds, by service, span name, span kind and status (spanmetrics).`,
        `# TYPE ${DURATION_FAMILY} histogram`,
      );
      for (const s of series) {
        let cumulative = 0;
        SPANMETRICS_DURATION_BUCKETS_MS.forEach((bound, i) => {
          cumulative += s.buckets[i]!;
          lines.push(`${SPANMETRICS_SERIES.durationBucket}{${s.labels},le="${formatNumber(bound)}"} ${cumulative}`);
        });
        lines.push(`${SPANMETRICS_SERIES.durationBucket}{${s.labels},le="+Inf"} ${s.calls}`);
        lines.push(`${SPANMETRICS_SERIES.durationSum}{${s.labels}} ${formatNumber(s.sumMs)}`);
        lines.push(`${SPANMETRICS_SERIES.durationCount}{${s.labels}} ${s.calls}`);
      }
    }
    return lines.length > 0 ? `${lines.join('\n')}\n` : '';
  }
}
