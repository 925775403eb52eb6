/**
 * The LLM token counters of `up --local`, exposed the way the generated collector serves them (the
 * `signal_to_metrics` connector, `delta_to_cumulative`, then the `prometheus` exporter): one running total
 * per token type and label set, labelled with the model, provider and agent under the spelling the span
 * used, `job`/`instance` from the resource and the connector's instrumentation scope. Which attribute holds
 * a span's count, and how it is read, comes from the shared contract in src/stack/tokens.ts.
 *
 * The sums are a member of the memory budget (src/local/memory-budget.ts), like the span metrics: at most
 * MAX_SERIES label sets, and when the budget or that cap needs room the least recently updated series is
 * evicted (one that comes back starts from zero, which Prometheus reads as a counter reset).
 */
import { prometheusLabelName } from '../stack/spanmetrics.js';
import { spanTokens, TOKEN_TYPE_LABEL, TOKENS_DESCRIPTION, TOKENS_SCOPE_NAME, TOKENS_SERIES } from '../stack/tokens.js';
import { truncate } from './field-limits.js';
import { leastRecentlyUpdated, OBJECT_BYTES, stringBytes, type BudgetAccount, type MemoryBudget, type StampedEntry } from './memory-budget.js';
import { attribute, valueAsString, type StoredSpan } from './model.js';
import { formatLabels, jobAndInstance, MAX_SERIES, type Labels } from './span-metrics.js';

/** One label set's running total; `key` is its formatted label text. */
interface TokenSeries extends StampedEntry {
  bytes: number;
  total: number;
}

/** The series object and its Map entry, its label text (the Map key is the same string) and the total. */
const seriesBytes = (labels: string) => 2 * OBJECT_BYTES + stringBytes(labels) + 8;

export class TokenSums {
  /** By label text, in the order of `orderedAt` (see leastRecentlyUpdated). */
  private readonly series = new Map<string, TokenSeries>();
  private readonly account: BudgetAccount;
  private evictedSeries = 0;
  /** Token counts not added because their series did not fit the memory budget. */
  droppedCounts = 0;

  /** `labelLength` caps every label value (a marker shows where it was cut). */
  constructor(
    private readonly budget: MemoryBudget,
    private readonly labelLength: number,
  ) {
    this.account = budget.join({
      name: 'token sums',
      oldestStamp: () => leastRecentlyUpdated(this.series)?.stamp,
      evictOldest: () => {
        const oldest = leastRecentlyUpdated(this.series);
        if (oldest) this.evict(oldest);
      },
    });
  }

  /** Series evicted so far (at MAX_SERIES, or to make room in the memory budget). */
  get evictions(): number {
    return this.evictedSeries;
  }

  private evict(series: TokenSeries): void {
    this.evictedSeries++;
    this.series.delete(series.key);
    this.account.release(series.bytes);
  }

  private label(value: string): string {
    return truncate(value, this.labelLength);
  }

  record(span: StoredSpan): void {
    const tokens = spanTokens((key) => attribute(span.attributes, key));
    if (tokens.length === 0) return;
    const { job, instance } = jobAndInstance(span.resource);
    for (const { type, count, source } of tokens) {
      const labels: Labels = [
        [TOKEN_TYPE_LABEL, type],
        ['otel_scope_name', TOKENS_SCOPE_NAME],
        ['otel_scope_version', ''],
        ['otel_scope_schema_url', ''],
      ];
      for (const key of source.labels) {
        const found = attribute(span.attributes, key);
        if (found) labels.push([prometheusLabelName(key), this.label(valueAsString(found))]);
      }
      if (job !== undefined) labels.push(['job', this.label(job)]);
      if (instance !== undefined) labels.push(['instance', this.label(instance)]);
      labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const series = this.seriesFor(formatLabels(labels));
      if (!series) {
        this.droppedCounts++;
        continue;
      }
      series.stamp = this.budget.stamp();
      series.total += count;
    }
  }

  /** The series of a label set, created if there is room. */
  private seriesFor(key: string): TokenSeries | undefined {
    const existing = this.series.get(key);
    if (existing) return existing;
    if (this.series.size >= MAX_SERIES) this.evict(leastRecentlyUpdated(this.series)!);
    const bytes = seriesBytes(key);
    if (!this.account.reserve(bytes)) return undefined;
    const stamp = this.budget.stamp();
    const series: TokenSeries = { key, stamp, orderedAt: stamp, bytes, total: 0 };
    this.series.set(key, series);
    return series;
  }

  /** The counter family in Prometheus text format 0.0.4, as chunks of text (nothing before the first token). */
  *render(): Generator<string> {
    if (this.series.size === 0) return;
    const series = [...this.series.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
    yield `# HELP ${TOKENS_SERIES} ${TOKENS_DESCRIPTION}\n# TYPE ${TOKENS_SERIES} counter\n`;
    for (const s of series) yield `${TOKENS_SERIES}{${s.key}} ${s.total}\n`;
  }
}
