/**
 * The Loom agents dashboard's panels for `up --local`, which has no Prometheus to keep a history: each
 * series is computed from the spans in the trace store, bucketed by span start (`GET
 * /api/loom/agent-metrics?lookback=15m&step=15s`). Span names and attributes are read in both
 * spellings: Loom's (`cognitive.run`, `llm.generate`, `llm.model`, `llm.usage.prompt_tokens`, ...) and the
 * OpenTelemetry GenAI conventions' (`invoke_agent`, `chat`, `execute_tool`, `gen_ai.*`).
 */
import { AGENT_ATTRIBUTES, SPAN_NAME_PATTERNS } from '../stack/spanmetrics.js';
import { parseGoDuration, SearchError } from './jaeger.js';
import { spanTokens } from '../stack/tokens.js';
import { attribute, type Attribute, type StoredSpan } from './model.js';
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

/** The dashboard's span-name patterns (src/stack/spanmetrics.ts), anchored as PromQL anchors them. */
const pattern = (names: readonly string[]) => new RegExp(`^(?:${names.join('|')})$`);
const AGENT_RUN = pattern(SPAN_NAME_PATTERNS.agentRun);
const LLM_CALL = pattern(SPAN_NAME_PATTERNS.llmCall);
const TOOL_CALL = pattern(SPAN_NAME_PATTERNS.toolCall);

const { agent, model, tool } = AGENT_ATTRIBUTES;
export const agentOf = (span: StoredSpan) => text(span.attributes, agent.loom, agent.genAi, 'gen_ai.agent.id') ?? 'agent';
export const modelOf = (span: StoredSpan) => text(span.attributes, model.loom, model.genAi, 'gen_ai.response.model') ?? 'unknown model';
export const toolOf = (span: StoredSpan) => text(span.attributes, tool.loom, tool.genAi) ?? 'unknown tool';
/** Input + output tokens of a span, read as the token counters read them (src/stack/tokens.ts: each spelling, no double count). */
const tokensOf = (span: StoredSpan) => spanTokens((key) => attribute(span.attributes, key)).reduce((sum, t) => sum + t.count, 0);

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
      if (AGENT_RUN.test(span.name)) {
        add('runs', agentOf(span), bucket);
        sample('runMs', agentOf(span), bucket, span.durationUs / 1000);
      } else if (LLM_CALL.test(span.name)) {
        const model = modelOf(span);
        add('llm', model, bucket);
        add('llmErrors', model, bucket, failed ? 1 : 0);
        sample('llmMs', model, bucket, span.durationUs / 1000);
        const tokens = tokensOf(span);
        if (tokens > 0) add('tokens', model, bucket, tokens);
      } else if (TOOL_CALL.test(span.name)) {
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
