/**
 * Reads the spanmetrics counters for a service from Prometheus' HTTP API (`/api/v1/query`). The series
 * names and labels come from src/stack/spanmetrics.ts, the same contract the collector config and the
 * dashboards are built on.
 */
import { SPANMETRICS_BASE_LABELS, SPANMETRICS_SERIES } from '../stack/spanmetrics.js';
import { backendBase, getFromBackend } from './backend.js';

export type PrometheusReading =
  | { status: 'ok'; calls: number; series: number }
  /** `refused`: nothing listens there (as opposed to an answer we could not use). */
  | { status: 'error'; message: string; refused?: boolean };

/** A PromQL double-quoted string literal. */
function promString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** Spans counted for `service` so far, all span names together; an empty result means no series yet. */
export function spanmetricsCallsQuery(service: string): string {
  return `sum(${SPANMETRICS_SERIES.calls}{${SPANMETRICS_BASE_LABELS.serviceName}=${promString(service)}})`;
}

export async function readSpanmetricsCalls(base: string, service: string, timeoutMs: number): Promise<PrometheusReading> {
  const answer = await getFromBackend('Prometheus', base, `/api/v1/query?query=${encodeURIComponent(spanmetricsCallsQuery(service))}`, timeoutMs);
  if (!answer.ok) return { status: 'error', message: answer.message, ...(answer.refused ? { refused: true } : {}) };
  const { status, text } = answer;
  if (status < 200 || status > 299) return { status: 'error', message: `Prometheus at ${backendBase(base)} answered ${status} to /api/v1/query` };
  try {
    const body = JSON.parse(text) as { status?: string; data?: { resultType?: string; result?: Array<{ value?: [number, string] }> } };
    if (body.status !== 'success' || !Array.isArray(body.data?.result)) {
      return { status: 'error', message: `Prometheus at ${backendBase(base)} did not answer a query result` };
    }
    const result = body.data.result;
    const calls = result.reduce((sum, sample) => sum + (Number(sample.value?.[1]) || 0), 0);
    return { status: 'ok', calls, series: result.length };
  } catch {
    return { status: 'error', message: `Prometheus at ${backendBase(base)} answered /api/v1/query with something that is not JSON` };
  }
}
