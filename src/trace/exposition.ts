/**
 * Reads the spanmetrics calls counter for a service straight from a Prometheus text exposition (the
 * collector's `prometheus` exporter, or `up --local`'s metrics port), for stacks without a Prometheus.
 */
import { SPANMETRICS_BASE_LABELS, SPANMETRICS_SERIES } from '../stack/spanmetrics.js';
import { getFromBackend } from './backend.js';
import type { PrometheusReading } from './prometheus.js';

/** The label set of one sample line, `{a="x",b="y\"z"}` -> {a: 'x', b: 'y"z'}; undefined when malformed. */
export function parseLabels(text: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  const pattern = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  let at = 0;
  while (at < text.length) {
    pattern.lastIndex = at;
    const match = pattern.exec(text);
    if (!match) return undefined;
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    at = pattern.lastIndex;
  }
  return labels;
}

/** Sums the calls counter of `service` over every line of an exposition. */
export function spanmetricsCallsIn(exposition: string, service: string): { calls: number; series: number } {
  let calls = 0;
  let series = 0;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${SPANMETRICS_SERIES.calls}{`)) continue;
    const close = line.lastIndexOf('}');
    const labels = parseLabels(line.slice(SPANMETRICS_SERIES.calls.length + 1, close));
    if (labels?.[SPANMETRICS_BASE_LABELS.serviceName] !== service) continue;
    const value = Number(line.slice(close + 1).trim().split(/\s+/)[0]);
    if (!Number.isFinite(value)) continue;
    calls += value;
    series += 1;
  }
  return { calls, series };
}

/** `url` is the exposition's full URL (…/metrics). */
export async function readExpositionCalls(url: string, service: string, timeoutMs: number): Promise<PrometheusReading> {
  const answer = await getFromBackend('The span metrics endpoint', url, '', timeoutMs);
  if (!answer.ok) return { status: 'error', message: answer.message, ...(answer.refused ? { refused: true } : {}) };
  if (answer.status !== 200) return { status: 'error', message: `The span metrics endpoint ${url} answered ${answer.status}` };
  return { status: 'ok', ...spanmetricsCallsIn(answer.text, service) };
}
