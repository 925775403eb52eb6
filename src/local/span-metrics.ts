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
import { truncate } from './field-limits.js';
import { leastRecentlyUpdated, OBJECT_BYTES, stringBytes, type BudgetAccount, type MemoryBudget, type StampedEntry } from './memory-budget.js';
import { attribute, valueAsString, type SpanResource, type StoredSpan } from './model.js';

/** The instrumentation scope the connector gives the metrics it emits. */
const CONNECTOR_SCOPE_NAME = 'spanmetricsconnector';
/**
 * Label sets kept at most (each costs one histogram). Past it, and when the memory budget needs room, the
 * least recently updated series is evicted, like the connector's LRU dimensions cache: a series that
 * comes back starts from zero, which Prometheus reads as a counter reset.
 */
export const MAX_SERIES = 10_000;
/** Characters of span keys cached at most (the cache only skips label formatting). */
const SPAN_KEY_CACHE_MAX_CHARS = 4 * 1024 * 1024;

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

/** By its label text (`key`); the least recently updated series is evicted first. */
interface Series extends StampedEntry {
  bytes: number;
  evicted: boolean;
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

interface Target {
  labels: string;
  stamp: number;
  bytes: number;
}

const seriesBytes = (labels: string) => 2 * OBJECT_BYTES + 2 * stringBytes(labels) + (SPANMETRICS_DURATION_BUCKETS_MS.length + 1) * 8;

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
  /** By label text, in the order of `orderedAt` (see leastRecentlyUpdated). */
  private readonly series = new Map<string, Series>();
  /** Cache: resource id + span name, kind, status and dimension values -> its series (skips label formatting). */
  private readonly seriesBySpanKey = new Map<string, Series>();
  private spanKeyChars = 0;
  private readonly resources = new WeakMap<SpanResource, ResourceLabels | null>();
  private nextResourceId = 1;
  /** target_info per job+instance, oldest first: the exporter emits one for every resource that has both. */
  private readonly targets = new Map<string, Target>();
  private readonly account: BudgetAccount;
  private evictedSeries = 0;
  /** Spans not counted because they did not fit the memory budget (reported when up --local stops). */
  droppedSpans = 0;

  /** `labelLength` caps every label value (a marker shows where it was cut). */
  constructor(
    private readonly budget: MemoryBudget,
    private readonly labelLength: number,
  ) {
    this.account = budget.join({
      name: 'span metrics',
      oldestStamp: () => {
        const series = this.oldestSeries();
        const target = this.targets.values().next().value;
        return series && target ? Math.min(series.stamp, target.stamp) : (series ?? target)?.stamp;
      },
      evictOldest: () => {
        const series = this.oldestSeries();
        const target = this.targets.values().next().value;
        if (series && (!target || series.stamp <= target.stamp)) this.evictSeries(series);
        else if (target) this.evictTarget(target);
      },
    });
  }

  /** Series evicted so far (at MAX_SERIES, or to make room in the memory budget). */
  get evictions(): number {
    return this.evictedSeries;
  }

  private oldestSeries(): Series | undefined {
    return leastRecentlyUpdated(this.series);
  }

  private evictSeries(series: Series): void {
    this.evictedSeries++;
    this.series.delete(series.key);
    series.evicted = true;
    this.account.release(series.bytes);
  }

  private evictTarget(target: Target): void {
    for (const [key, value] of this.targets) {
      if (value !== target) continue;
      this.targets.delete(key);
      this.account.release(target.bytes);
      return;
    }
  }

  private label(value: string): string {
    return truncate(value, this.labelLength);
  }

  private resourceLabels(resource: SpanResource): ResourceLabels | null {
    let labels = this.resources.get(resource);
    if (labels !== undefined) return labels;
    const serviceName = attribute(resource.attributes, 'service.name');
    // The connector skips resources without service.name.
    labels = serviceName
      ? {
          id: this.nextResourceId++,
          serviceName: this.label(valueAsString(serviceName)),
          ...Object.fromEntries(Object.entries(jobAndInstance(resource)).map(([k, v]) => [k, this.label(v)])),
          dimensions: SPANMETRICS_DIMENSIONS.map((d) => {
            const found = attribute(resource.attributes, d);
            return found ? this.label(valueAsString(found)) : undefined;
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
      return found ? this.label(valueAsString(found)) : resource.dimensions[i];
    });
    const spanKey = `${resource.id}\u0000${span.name}\u0000${span.kind}\u0000${span.statusCode}\u0000${dimensions.map((d) => (d === undefined ? '\u0001' : d)).join('\u0000')}`;
    const cached = this.seriesBySpanKey.get(spanKey);
    const series = cached && !cached.evicted ? cached : this.seriesFor(resource, span, dimensions);
    if (!series) {
      this.droppedSpans++;
      return;
    }
    if (series !== cached) {
      if (this.seriesBySpanKey.size >= MAX_SERIES * 2 || this.spanKeyChars + spanKey.length > SPAN_KEY_CACHE_MAX_CHARS) {
        this.seriesBySpanKey.clear();
        this.spanKeyChars = 0;
      }
      this.seriesBySpanKey.set(spanKey, series);
      this.spanKeyChars += spanKey.length;
    }
    series.stamp = this.budget.stamp();
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
      [SPANMETRICS_BASE_LABELS.spanName, this.label(span.name)],
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
    const existing = this.series.get(key);
    if (existing) return existing;
    if (this.series.size >= MAX_SERIES) this.evictSeries(this.oldestSeries()!);
    const bytes = seriesBytes(key);
    if (!this.account.reserve(bytes)) return undefined;
    const stamp = this.budget.stamp();
    const series: Series = {
      key,
      stamp,
      orderedAt: stamp,
      bytes,
      evicted: false,
      calls: 0,
      buckets: new Array<number>(SPANMETRICS_DURATION_BUCKETS_MS.length + 1).fill(0),
      sumMs: 0,
    };
    this.series.set(key, series);
    return series;
  }

  private recordTarget(resource: SpanResource, job: string, instance: string): void {
    const key = `${job}\u00ff${instance}`;
    if (this.targets.has(key)) return;
    if (this.targets.size >= MAX_SERIES) this.evictTarget(this.targets.values().next().value!);
    const labels = new Map<string, string>();
    for (const attr of resource.attributes) {
      if (attr.key === 'service.name' || attr.key === 'service.namespace' || attr.key === 'service.instance.id') continue;
      const name = prometheusLabelName(attr.key);
      if (name === '') continue; // an empty attribute key makes no valid label name
      const existing = labels.get(name);
      labels.set(name, this.label(existing === undefined ? valueAsString(attr) : `${existing};${valueAsString(attr)}`));
    }
    labels.set('job', job);
    labels.set('instance', instance);
    const text = formatLabels([...labels.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
    const bytes = OBJECT_BYTES + 2 * stringBytes(text) + stringBytes(key);
    if (!this.account.reserve(bytes)) return;
    this.targets.set(key, { labels: text, stamp: this.budget.stamp(), bytes });
  }

  /**
   * The exposition in Prometheus text format 0.0.4, families and series in a stable order, as chunks of
   * text (one per series or so): however many and however long the labels, no single string grows past
   * what V8 allows. Takes a snapshot of the series when called; counts are read as the chunks are made.
   */
  *render(): Generator<string> {
    const series = [...this.series.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
    const targets = [...this.targets.values()].map((t) => t.labels).sort();
    if (targets.length > 0) {
      yield `# HELP ${TARGET_INFO} Target metadata\n# TYPE ${TARGET_INFO} gauge\n`;
      for (const labels of targets) yield `${TARGET_INFO}{${labels}} 1\n`;
    }
    if (series.length === 0) return;
    yield `# HELP ${CALLS_FAMILY} Spans seen, by service, span name, span kind and status (spanmetrics).\n# TYPE ${CALLS_FAMILY} counter\n`;
    for (const s of series) yield `${CALLS_FAMILY}{${s.key}} ${s.calls}\n`;
    yield `# HELP ${DURATION_FAMILY} Span durations in milliseconds, by service, span name, span kind and status (spanmetrics).\n# TYPE ${DURATION_FAMILY} histogram\n`;
    for (const s of series) {
      const lines: string[] = [];
      let cumulative = 0;
      SPANMETRICS_DURATION_BUCKETS_MS.forEach((bound, i) => {
        cumulative += s.buckets[i]!;
        lines.push(`${SPANMETRICS_SERIES.durationBucket}{${s.key},le="${formatNumber(bound)}"} ${cumulative}`);
      });
      lines.push(`${SPANMETRICS_SERIES.durationBucket}{${s.key},le="+Inf"} ${s.calls}`);
      lines.push(`${SPANMETRICS_SERIES.durationSum}{${s.key}} ${formatNumber(s.sumMs)}`);
      lines.push(`${SPANMETRICS_SERIES.durationCount}{${s.key}} ${s.calls}`);
      yield `${lines.join('\n')}\n`;
    }
  }
}
