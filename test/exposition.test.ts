/**
 * send-test-trace reads `up --local`'s span metrics from the exposition text itself: label values with
 * escapes, other services and other series must not count.
 */
import { describe, expect, it } from 'vitest';
import { parseLabels, spanmetricsCallsIn } from '../src/trace/exposition.js';

describe('spanmetrics calls in a Prometheus text exposition', () => {
  it('sums the calls counter of one service over its label sets, reading escaped label values', () => {
    const text = [
      '# HELP traces_span_metrics_calls_total spans',
      '# TYPE traces_span_metrics_calls_total counter',
      'traces_span_metrics_calls_total{service_name="agent",span_name="llm.generate",span_kind="SPAN_KIND_INTERNAL",status_code="STATUS_CODE_UNSET"} 3',
      'traces_span_metrics_calls_total{service_name="agent",span_name="say \\"hi\\", then \\\\ go",status_code="STATUS_CODE_ERROR"} 2 1700000000000',
      'traces_span_metrics_calls_total{service_name="agent-2",span_name="x"} 7',
      'traces_span_metrics_duration_milliseconds_count{service_name="agent",span_name="x"} 11',
      'traces_span_metrics_calls_total{service_name="agent",broken} 100',
    ].join('\n');
    expect(spanmetricsCallsIn(text, 'agent')).toEqual({ calls: 5, series: 2 });
    expect(spanmetricsCallsIn(text, 'agent-2')).toEqual({ calls: 7, series: 1 });
    expect(spanmetricsCallsIn(text, 'nobody')).toEqual({ calls: 0, series: 0 });
  });

  it('parses label sets the way the text format writes them', () => {
    expect(parseLabels('a="x",b="y\\"z\\nw"')).toEqual({ a: 'x', b: 'y"z\nw' });
    expect(parseLabels('a="x",')).toEqual({ a: 'x' });
    expect(parseLabels('a=x')).toBeUndefined();
  });
});
