/**
 * The Loom agents dashboard's panels for `up --local`, which has no Prometheus to keep a history: each
 * series is computed from the spans in the trace store, bucketed by span start (`GET
 * /api/loom/agent-metrics?lookback=15m&step=15s`). Span names and attributes are read in both
 * spellings: Loom's (`cognitive.run`, `llm.generate`, `llm.model`, `llm.usage.prompt_tokens`, ...) and the
 * OpenTelemetry GenAI conventions' (`invoke_agent`, `chat`, `execute_tool`, `gen_ai.*`).
 */
import { LOOM_SPAN_NAMES } from '../stack/spanmetrics.js';
import { parseGoDuration, SearchError } from './jaeger.js';
import type { Attribute, StoredSpan } from './model.js';
import type { TraceStore } from './store.js';

export interface AgentMetrics {
  /** Bucket starts, seconds since the epoch (uPlot's x axis). */
  timestamps: number[];
  stepSeconds: number;
  /** Per series name (agent, model or tool), one value per bucket; null where nothing happened. */
  agentRunsPerSecond: Record<string, number[]>;
  agentRunP95Ms: Record<string, Array<number | null>>;
  llmCallsPerSecond: Record<string, number[]>;
  llmLatencyP95Ms: Record<string, Array<number | null>>;
  llmErrorRate: Record<string, Array<number | null>>;
  tokensPerSecond: Record<string, number[]>;
  toolCallsPerSecond: Record<string, number[]>;
  toolErrorsPerSecond: Record<string, number[]>;
}

const text = (attributes: readonly Attribute[], ...keys: string[]): string | undefined => {
  for (const key of keys) {
    const found = attributes.find((a) => a.key === key);
    if (found && found.value !== undefined && found.value !== null && String(found.value) !== '') return String(found.value);
  }
  return undefined;
};

const number = (attributes: readonly Attribute[], ...keys: string[]): number | undefined => {
  for (const key of keys) {
    const value = Number(attributes.find((a) => a.key === key)?.value);
    if (Number.isFinite(value)) return value;
  }
  return undefined;
};

/** GenAI span names start with the operation: `chat gpt-4o`, `invoke_agent planner`, `execute_tool search`. */
const operationOf = (span: StoredSpan) => text(span.attributes, 'gen_ai.operation.name') ?? span.name.split(' ')[0];

export function isAgentRun(span: StoredSpan): boolean {
  return span.name === LOOM_SPAN_NAMES.agentRun || operationOf(span) === 'invoke_agent';
}

export function isLlmCall(span: StoredSpan): boolean {
  if (span.name === LOOM_SPAN_NAMES.llmGenerate || span.name === 'llm.chat') return true;
  const operation = operationOf(span);
  return operation === 'chat' || operation === 'text_completion' || operation === 'generate_content';
}

export function isToolCall(span: StoredSpan): boolean {
  return span.name === LOOM_SPAN_NAMES.toolInvoke || operationOf(span) === 'execute_tool';
}

export const agentOf = (span: StoredSpan) => text(span.attributes, 'agent.id', 'gen_ai.agent.name', 'gen_ai.agent.id') ?? 'agent';
export const modelOf = (span: StoredSpan) => text(span.attributes, 'llm.model', 'gen_ai.request.model', 'gen_ai.response.model') ?? 'unknown model';
export const toolOf = (span: StoredSpan) => text(span.attributes, 'tool.name', 'gen_ai.tool.name') ?? 'unknown tool';
/** Input and output tokens: GenAI first, then real Loom (`llm.usage.*`), then the seed's names. */
export const tokensOf = (span: StoredSpan) => ({
  input: number(span.attributes, 'gen_ai.usage.input_tokens', 'llm.usage.prompt_tokens', 'llm.prompt_tokens'),
  output: number(span.attributes, 'gen_ai.usage.output_tokens', 'llm.usage.completion_tokens', 'llm.completion_tokens'),
});

function p95(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)]!;
}

const MAX_BUCKETS = 720;

export function agentMetrics(store: TraceStore, params: URLSearchParams, nowMs: number): AgentMetrics {
  const lookbackUs = parseGoDuration(params.get('lookback') || '15m');
  const stepUs = parseGoDuration(params.get('step') || '15s');
  if (!lookbackUs || lookbackUs <= 0) throw new SearchError(`unable to parse param 'lookback': "${params.get('lookback')}"`);
  if (!stepUs || stepUs < 1e6) throw new SearchError(`param 'step' must be a duration of 1s or more: "${params.get('step')}"`);
  const buckets = Math.min(MAX_BUCKETS, Math.ceil(lookbackUs / stepUs));
  const stepSeconds = stepUs / 1e6;
  const endUs = Math.ceil((nowMs * 1000) / stepUs) * stepUs;
  const startUs = endUs - buckets * stepUs;
  const timestamps = Array.from({ length: buckets }, (_, i) => (startUs + i * stepUs) / 1e6);

  const counters = new Map<string, Record<string, number[]>>();
  const samples = new Map<string, Record<string, number[][]>>();
  const add = (panel: string, series: string, bucket: number, value = 1) => {
    const bySeries = counters.get(panel) ?? {};
    counters.set(panel, bySeries);
    (bySeries[series] ??= new Array<number>(buckets).fill(0))[bucket]! += value;
  };
  const sample = (panel: string, series: string, bucket: number, value: number) => {
    const bySeries = samples.get(panel) ?? {};
    samples.set(panel, bySeries);
    (bySeries[series] ??= Array.from({ length: buckets }, () => [] as number[]))[bucket]!.push(value);
  };

  for (const trace of store.newestFirst()) {
    if (trace.endUs < startUs) continue;
    for (const span of trace.spans) {
      if (span.startUs < startUs || span.startUs >= endUs) continue;
      const bucket = Math.floor((span.startUs - startUs) / stepUs);
      const failed = span.statusCode === 2;
      if (isAgentRun(span)) {
        add('runs', agentOf(span), bucket);
        sample('runMs', agentOf(span), bucket, span.durationUs / 1000);
      } else if (isLlmCall(span)) {
        const model = modelOf(span);
        add('llm', model, bucket);
        add('llmErrors', model, bucket, failed ? 1 : 0);
        sample('llmMs', model, bucket, span.durationUs / 1000);
        const tokens = tokensOf(span);
        const total = (tokens.input ?? 0) + (tokens.output ?? 0);
        if (total > 0) add('tokens', model, bucket, total);
      } else if (isToolCall(span)) {
        add('tools', toolOf(span), bucket);
        add('toolErrors', toolOf(span), bucket, failed ? 1 : 0);
      }
    }
  }
  const perSecond = (panel: string) => Object.fromEntries(Object.entries(counters.get(panel) ?? {}).map(([k, v]) => [k, v.map((n) => n / stepSeconds)]));
  const quantile = (panel: string) => Object.fromEntries(Object.entries(samples.get(panel) ?? {}).map(([k, v]) => [k, v.map(p95)]));
  const llm = counters.get('llm') ?? {};
  const llmErrors = counters.get('llmErrors') ?? {};
  return {
    timestamps,
    stepSeconds,
    agentRunsPerSecond: perSecond('runs'),
    agentRunP95Ms: quantile('runMs'),
    llmCallsPerSecond: perSecond('llm'),
    llmLatencyP95Ms: quantile('llmMs'),
    llmErrorRate: Object.fromEntries(Object.entries(llm).map(([model, calls]) => [model, calls.map((n, i) => (n ? llmErrors[model]![i]! / n : null))])),
    tokensPerSecond: perSecond('tokens'),
    toolCallsPerSecond: perSecond('tools'),
    toolErrorsPerSecond: perSecond('toolErrors'),
  };
}
