/**
 * The LLM token counters of `up --local`, exposed the way the generated collector serves them (the
 * `signal_to_metrics` connector, `delta_to_cumulative`, then the `prometheus` exporter): one running total
 * per token type and label set, labelled with the model, provider and agent under the spelling the span
 * used, `job`/`instance` from the resource and the connector's instrumentation scope. Which attribute holds
 * a span's count, and how it is read, comes from the shared contract in src/stack/tokens.ts.
 */
import { prometheusLabelName } from '../stack/spanmetrics.js';
import { spanTokens, TOKEN_TYPE_LABEL, TOKENS_DESCRIPTION, TOKENS_SCOPE_NAME, TOKENS_SERIES } from '../stack/tokens.js';
import { attribute, valueAsString, type StoredSpan } from './model.js';
import { formatLabels, jobAndInstance, MAX_SERIES, type Labels } from './span-metrics.js';

export class TokenSums {
  /** Formatted label set -> tokens so far. */
  private readonly totals = new Map<string, number>();
  /** Token counts not added because MAX_SERIES label sets already exist. */
  droppedCounts = 0;

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
        if (found) labels.push([prometheusLabelName(key), valueAsString(found)]);
      }
      if (job !== undefined) labels.push(['job', job]);
      if (instance !== undefined) labels.push(['instance', instance]);
      labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const key = formatLabels(labels);
      const total = this.totals.get(key);
      if (total === undefined && this.totals.size >= MAX_SERIES) {
        this.droppedCounts++;
        continue;
      }
      this.totals.set(key, (total ?? 0) + count);
    }
  }

  /** The counter family in Prometheus text format 0.0.4 (empty before the first token). */
  render(): string {
    if (this.totals.size === 0) return '';
    const lines = [`# HELP ${TOKENS_SERIES} ${TOKENS_DESCRIPTION}`, `# TYPE ${TOKENS_SERIES} counter`];
    for (const [labels, total] of [...this.totals.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) lines.push(`${TOKENS_SERIES}{${labels}} ${total}`);
    return `${lines.join('\n')}\n`;
  }
}
