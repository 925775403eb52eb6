/**
 * The Loom agents dashboard (grafana/dashboards/loom-agents.json). Every query is built from the
 * span-metrics and token contracts (../spanmetrics.ts, ../tokens.ts), so it names only series and labels
 * the collector produces.
 */
import { GRAFANA_UIDS, type StackModel } from '../model.js';
import {
  AGENT_ATTRIBUTES,
  SPAN_NAME_PATTERNS,
  SPANMETRICS_BASE_LABELS as BASE,
  SPANMETRICS_DIMENSION_LABELS as DIM,
  SPANMETRICS_SERIES as SERIES,
  STATUS_CODE_VALUES,
  prometheusLabelName,
  type AgentAttribute,
} from '../spanmetrics.js';
import { TOKEN_TYPE_LABEL, TOKENS_SERIES } from '../tokens.js';

const DATASOURCE = { type: 'prometheus', uid: GRAFANA_UIDS.prometheusDatasource } as const;
/** Every span-metrics query is narrowed by the dashboard's service and environment variables. */
const SCOPE = `${BASE.serviceName}=~"$service", ${DIM['deployment.environment']}=~"$environment"`;
/**
 * Token series carry the service as `job` and no environment label (it is a resource attribute), so
 * token queries are narrowed by service only.
 */
const TOKEN_SCOPE = `job=~"$service"`;
const ERROR = `${BASE.statusCode}="${STATUS_CODE_VALUES.error}"`;

const spansOf = (kind: keyof typeof SPAN_NAME_PATTERNS) => `${BASE.spanName}=~"${SPAN_NAME_PATTERNS[kind].join('|')}"`;
const RUNS = spansOf('agentRun');
const LLM_CALLS = spansOf('llmCall');
const TOOL_CALLS = spansOf('toolCall');

/**
 * Both labels of an agent attribute (Loom's and the GenAI conventions'): grouping by both keeps each
 * series' own, and a legend naming both shows the one present.
 */
function both(attribute: AgentAttribute): { by: string; legend: string } {
  const labels = [AGENT_ATTRIBUTES[attribute].loom, AGENT_ATTRIBUTES[attribute].genAi].map(prometheusLabelName);
  return { by: labels.join(', '), legend: labels.map((l) => `{{${l}}}`).join('') };
}

function rate(series: string, matchers: string, scope = SCOPE): string {
  return `rate(${series}{${[matchers, scope].filter(Boolean).join(', ')}}[$__rate_interval])`;
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
function tokenRate(by: string): string {
  return `sum by (${by}) (${rate(TOKENS_SERIES, '', TOKEN_SCOPE)})`;
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
  const agent = both('agent');
  const llmModel = both('model');
  const tool = both('tool');
  const jaegerUrl = model.part('jaeger')?.uiUrl;
  const runs = SPAN_NAME_PATTERNS.agentRun.join(', ');
  const llmCalls = SPAN_NAME_PATTERNS.llmCall.join(', ');
  const tools = SPAN_NAME_PATTERNS.toolCall.join(', ');
  const byModel = 'by llm.model (Loom) or gen_ai.request.model (GenAI)';

  const panels = [
    row('Agent runs', 0),
    timeseries('Agent runs per second', `Rate of agent runs (${runs}) by agent.id or gen_ai.agent.name.`, 'reqps', { x: 0, y: 1, w: 12, h: 8 }, [
      { expr: callRate(agent.by, RUNS), legendFormat: agent.legend },
    ]),
    timeseries('Agent run duration p95', `95th percentile of agent run duration (${runs}).`, 'ms', { x: 12, y: 1, w: 12, h: 8 }, [
      { expr: quantile(0.95, agent.by, RUNS), legendFormat: `${agent.legend} p95` },
    ]),
    row('LLM calls', 9),
    timeseries('LLM calls per second', `Rate of LLM calls (${llmCalls}) ${byModel}.`, 'reqps', { x: 0, y: 10, w: 8, h: 8 }, [
      { expr: callRate(llmModel.by, LLM_CALLS), legendFormat: llmModel.legend },
    ]),
    timeseries('LLM latency p50 / p95', `LLM call duration percentiles ${byModel}.`, 'ms', { x: 8, y: 10, w: 8, h: 8 }, [
      { expr: quantile(0.5, llmModel.by, LLM_CALLS), legendFormat: `${llmModel.legend} p50` },
      { expr: quantile(0.95, llmModel.by, LLM_CALLS), legendFormat: `${llmModel.legend} p95` },
    ]),
    timeseries('LLM error rate', `Share of LLM calls with status ERROR, ${byModel}.`, 'percentunit', { x: 16, y: 10, w: 8, h: 8 }, [
      { expr: errorRatio(llmModel.by, LLM_CALLS), legendFormat: llmModel.legend },
    ]),
    row('LLM tokens', 18),
    timeseries('Tokens per second by model', `Input + output tokens recorded on LLM spans, ${byModel}. Filtered by service only.`, 'short', { x: 0, y: 19, w: 8, h: 8 }, [
      { expr: tokenRate(llmModel.by), legendFormat: llmModel.legend },
    ]),
    timeseries('Input vs output tokens per second', 'Prompt (input) and completion (output) tokens per second. Filtered by service only.', 'short', { x: 8, y: 19, w: 8, h: 8 }, [
      { expr: tokenRate(TOKEN_TYPE_LABEL), legendFormat: `{{${TOKEN_TYPE_LABEL}}}` },
    ]),
    timeseries('Tokens per agent run', `Tokens per second / agent runs (${runs}) per second, by service. Filtered by service only.`, 'short', { x: 16, y: 19, w: 8, h: 8 }, [
      { expr: `${tokenRate('job')} / sum by (job) (${rate(SERIES.calls, RUNS, TOKEN_SCOPE)})`, legendFormat: '{{job}}' },
    ]),
    row('Tools', 27),
    timeseries('Tool calls per second', `Rate of tool calls (${tools}) by tool.name or gen_ai.tool.name.`, 'reqps', { x: 0, y: 28, w: 12, h: 8 }, [
      { expr: callRate(`${tool.by}, ${BASE.spanName}`, TOOL_CALLS), legendFormat: `${tool.legend} ({{${BASE.spanName}}})` },
    ]),
    timeseries('Tool error rate', 'Share of tool calls with status ERROR, by tool.name or gen_ai.tool.name.', 'percentunit', { x: 12, y: 28, w: 12, h: 8 }, [
      { expr: errorRatio(tool.by, TOOL_CALLS), legendFormat: tool.legend },
    ]),
    row('Services', 36),
    timeseries('Span error rate by service', 'Share of all spans with status ERROR, by service.name.', 'percentunit', { x: 0, y: 37, w: 12, h: 8 }, [
      { expr: errorRatio(BASE.serviceName, ''), legendFormat: `{{${BASE.serviceName}}}` },
    ]),
    timeseries('Spans per second by service', 'Rate of all spans, by service.name.', 'reqps', { x: 12, y: 37, w: 12, h: 8 }, [
      { expr: callRate(BASE.serviceName, ''), legendFormat: `{{${BASE.serviceName}}}` },
    ]),
  ];

  return {
    uid: GRAFANA_UIDS.agentsDashboard,
    title: 'Loom agents',
    description:
      'RED metrics and LLM token counts of Loom agents (and of agents following the OpenTelemetry GenAI conventions), derived from their spans by the collector (span_metrics and signal_to_metrics connectors).',
    tags: ['loom', 'opentelemetry', 'generated-by-loom-otel'],
    editable: true,
    graphTooltip: 1,
    refresh: '30s',
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-1h', to: 'now' },
    timezone: 'browser',
    links: jaegerUrl
      ? [
          {
            title: 'Traces in Jaeger',
            type: 'link',
            url: jaegerUrl,
            targetBlank: true,
            icon: 'external link',
            tooltip: 'Open the Jaeger UI',
            tags: [],
            asDropdown: false,
            includeVars: false,
            keepTime: false,
          },
        ]
      : [],
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
