/**
 * The Loom agents dashboard (grafana/dashboards/loom-agents.json). Every query is built from the
 * spanmetrics contract (../spanmetrics.ts), so it names only series and labels the collector produces.
 */
import { GRAFANA_UIDS, type StackModel } from '../model.js';
import {
  LOOM_SPAN_NAMES,
  SPANMETRICS_BASE_LABELS as BASE,
  SPANMETRICS_DIMENSION_LABELS as DIM,
  SPANMETRICS_SERIES as SERIES,
  STATUS_CODE_VALUES,
} from '../spanmetrics.js';

const DATASOURCE = { type: 'prometheus', uid: GRAFANA_UIDS.prometheusDatasource } as const;
/** Every query is narrowed by the dashboard's service and environment variables. */
const SCOPE = `${BASE.serviceName}=~"$service", ${DIM['deployment.environment']}=~"$environment"`;
const ERROR = `${BASE.statusCode}="${STATUS_CODE_VALUES.error}"`;

const spanIs = (name: string) => `${BASE.spanName}="${name}"`;
const TOOL_SPANS = `${BASE.spanName}=~"${LOOM_SPAN_NAMES.toolInvoke}|${LOOM_SPAN_NAMES.toolCall}"`;

function rate(series: string, matchers: string): string {
  return `rate(${series}{${[matchers, SCOPE].filter(Boolean).join(', ')}}[$__rate_interval])`;
}
function callRate(by: string, matchers: string): string {
  return `sum by (${by}) (${rate(SERIES.calls, matchers)})`;
}
function quantile(q: number, by: string, matchers: string): string {
  return `histogram_quantile(${q}, sum by (le, ${by}) (${rate(SERIES.durationBucket, matchers)}))`;
}
/** Errors / all calls; `or 0 * all` shows 0 rather than "no data" while nothing failed. */
function errorRatio(by: string, matchers: string): string {
  const all = callRate(by, matchers);
  const errors = callRate(by, [matchers, ERROR].filter(Boolean).join(', '));
  return `(${errors} or 0 * ${all}) / ${all}`;
}

interface Target {
  expr: string;
  legendFormat: string;
}
interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

function timeseries(title: string, description: string, unit: string, gridPos: GridPos, targets: Target[]): Record<string, unknown> {
  return {
    type: 'timeseries',
    title,
    description,
    datasource: DATASOURCE,
    gridPos,
    fieldConfig: {
      defaults: { unit, min: 0, custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: 10, spanNulls: true } },
      overrides: [],
    },
    options: { legend: { displayMode: 'table', placement: 'bottom', calcs: ['lastNotNull', 'max'] }, tooltip: { mode: 'multi', sort: 'desc' } },
    targets: targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), datasource: DATASOURCE, expr: t.expr, legendFormat: t.legendFormat, range: true })),
  };
}
function row(title: string, y: number): Record<string, unknown> {
  return { type: 'row', title, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] };
}
function labelVariable(name: string, label: string, labelName: string): Record<string, unknown> {
  const query = `label_values(${SERIES.calls}, ${labelName})`;
  return {
    name,
    label,
    type: 'query',
    datasource: DATASOURCE,
    definition: query,
    query,
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: '.*',
    current: { text: 'All', value: '$__all' },
    sort: 1,
  };
}

export function buildDashboard(model: StackModel): Record<string, unknown> {
  const agent = DIM['agent.id'];
  const llmModel = DIM['llm.model'];
  const tool = DIM['tool.name'];
  const run = spanIs(LOOM_SPAN_NAMES.agentRun);
  const llm = spanIs(LOOM_SPAN_NAMES.llmGenerate);
  const jaegerUrl = model.part('jaeger')?.uiUrl;

  const panels = [
    row(`Agent runs (${LOOM_SPAN_NAMES.agentRun})`, 0),
    timeseries('Agent runs per second', `Rate of ${LOOM_SPAN_NAMES.agentRun} spans by agent.id.`, 'reqps', { x: 0, y: 1, w: 12, h: 8 }, [
      { expr: callRate(agent, run), legendFormat: `{{${agent}}}` },
    ]),
    timeseries('Agent run duration p95', `95th percentile of ${LOOM_SPAN_NAMES.agentRun} duration by agent.id.`, 'ms', { x: 12, y: 1, w: 12, h: 8 }, [
      { expr: quantile(0.95, agent, run), legendFormat: `{{${agent}}} p95` },
    ]),
    row(`LLM calls (${LOOM_SPAN_NAMES.llmGenerate})`, 9),
    timeseries('LLM calls per second', `Rate of ${LOOM_SPAN_NAMES.llmGenerate} spans by llm.model.`, 'reqps', { x: 0, y: 10, w: 8, h: 8 }, [
      { expr: callRate(llmModel, llm), legendFormat: `{{${llmModel}}}` },
    ]),
    timeseries('LLM latency p50 / p95', `${LOOM_SPAN_NAMES.llmGenerate} duration percentiles by llm.model.`, 'ms', { x: 8, y: 10, w: 8, h: 8 }, [
      { expr: quantile(0.5, llmModel, llm), legendFormat: `{{${llmModel}}} p50` },
      { expr: quantile(0.95, llmModel, llm), legendFormat: `{{${llmModel}}} p95` },
    ]),
    timeseries('LLM error rate', `Share of ${LOOM_SPAN_NAMES.llmGenerate} spans with status ERROR, by llm.model.`, 'percentunit', { x: 16, y: 10, w: 8, h: 8 }, [
      { expr: errorRatio(llmModel, llm), legendFormat: `{{${llmModel}}}` },
    ]),
    row(`Tools (${LOOM_SPAN_NAMES.toolInvoke}, ${LOOM_SPAN_NAMES.toolCall})`, 18),
    timeseries('Tool calls per second', `Rate of ${LOOM_SPAN_NAMES.toolInvoke} and ${LOOM_SPAN_NAMES.toolCall} spans by tool.name.`, 'reqps', { x: 0, y: 19, w: 12, h: 8 }, [
      { expr: callRate(`${tool}, ${BASE.spanName}`, TOOL_SPANS), legendFormat: `{{${tool}}} ({{${BASE.spanName}}})` },
    ]),
    timeseries('Tool error rate', 'Share of tool spans with status ERROR, by tool.name.', 'percentunit', { x: 12, y: 19, w: 12, h: 8 }, [
      { expr: errorRatio(tool, TOOL_SPANS), legendFormat: `{{${tool}}}` },
    ]),
    row('Services', 27),
    timeseries('Span error rate by service', 'Share of all spans with status ERROR, by service.name.', 'percentunit', { x: 0, y: 28, w: 12, h: 8 }, [
      { expr: errorRatio(BASE.serviceName, ''), legendFormat: `{{${BASE.serviceName}}}` },
    ]),
    timeseries('Spans per second by service', 'Rate of all spans, by service.name.', 'reqps', { x: 12, y: 28, w: 12, h: 8 }, [
      { expr: callRate(BASE.serviceName, ''), legendFormat: `{{${BASE.serviceName}}}` },
    ]),
  ];

  return {
    uid: GRAFANA_UIDS.agentsDashboard,
    title: 'Loom agents',
    description: 'RED metrics of Loom agents, derived from their spans by the collector (spanmetrics connector).',
    tags: ['loom', 'opentelemetry', 'generated-by-loom-otel'],
    editable: true,
    graphTooltip: 1,
    refresh: '30s',
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-1h', to: 'now' },
    timezone: 'browser',
    links: jaegerUrl ? [{ title: 'Traces in Jaeger', type: 'link', url: jaegerUrl, targetBlank: true, icon: 'external link' }] : [],
    templating: {
      list: [labelVariable('service', 'Service', BASE.serviceName), labelVariable('environment', 'Environment', DIM['deployment.environment'])],
    },
    annotations: { list: [] },
    panels: panels.map((panel, index) => ({ id: index + 1, ...panel })),
  };
}

export function renderDashboard(model: StackModel): string {
  return `${JSON.stringify(buildDashboard(model), null, 2)}\n`;
}
