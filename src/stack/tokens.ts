/**
 * The contract of the LLM token counters the generated collector derives from spans. The collector config,
 * the Grafana dashboard, the checks and `up --local`'s exposition all read it.
 *
 * One counter, `llm_tokens_total`, labelled `gen_ai_token_type` = `input` | `output` (the GenAI
 * conventions' name for that split), the model, provider and agent under the spelling the span used
 * (`llm_model`, `llm_provider`, `agent_id` for Loom; `gen_ai_request_model`, `gen_ai_provider_name`,
 * `gen_ai_agent_name` for GenAI agents; each only when the span had it), and the service as `job` (the
 * `prometheus` exporter's service.namespace/service.name). Resource attributes such as the deployment
 * environment are not labels (they are on `target_info`).
 *
 * Built with the contrib `signal_to_metrics` connector, not the `sum` connector, after reading both at
 * the pinned release line: the `sum` connector adds a span's value once per configured attribute (its own
 * golden file turns 2.1 into 4.2 with two attributes), so a counter labelled by model, provider and agent
 * would be 3 to 4 times too high; and the Go module proxy has no `sum` connector at 0.158.0 (the pin), nor
 * at 0.155, 0.159, 0.160, 0.165, so a collector built from it could not contain one.
 * `signal_to_metrics` sums an OTTL value per label set, takes optional and defaulted attributes, and merges
 * definitions of the same metric name.
 *
 * Both connectors emit delta sums without a start time, which the `prometheus` exporter cannot add up
 * (it only accumulates a delta that starts where the previous one ended): `delta_to_cumulative` turns
 * them into running totals first.
 */
import { AGENT_ATTRIBUTES, EXPORTER_LABELS, prometheusLabelName } from './spanmetrics.js';

/** Component ids in the generated config (their current types; `signaltometrics` / `deltatocumulative` are deprecated aliases). */
export const TOKENS_CONNECTOR = 'signal_to_metrics';
export const TOKENS_ACCUMULATOR = 'delta_to_cumulative';
/** The metrics pipeline from the connector to the `prometheus` exporter. */
export const TOKENS_PIPELINE = 'metrics/llm_tokens';

/** The OTLP metric the connector emits, and the Prometheus series the exporter serves (a monotonic sum gets `_total`). */
export const TOKENS_METRIC = 'llm.tokens';
export const TOKENS_SERIES = 'llm_tokens_total';
/** The metric's description (the exporter's HELP line). */
export const TOKENS_DESCRIPTION = 'LLM tokens recorded on spans, by token type, model, provider and agent.';
/** The instrumentation scope the connector gives its metrics (the exporter's `otel_scope_name`). */
export const TOKENS_SCOPE_NAME = 'github.com/open-telemetry/opentelemetry-collector-contrib/connector/signaltometricsconnector';

/** Input or output, as a label: an attribute no span carries, so the connector always writes its default. */
export const TOKEN_TYPE_ATTRIBUTE = 'gen_ai.token.type';
export const TOKEN_TYPE_LABEL = prometheusLabelName(TOKEN_TYPE_ATTRIBUTE);
export const TOKEN_TYPES = ['input', 'output'] as const;
export type TokenType = (typeof TOKEN_TYPES)[number];

export interface TokenSource {
  /** Which instrumentation writes this spelling. */
  convention: string;
  /** The span attribute holding the count, per token type. */
  count: Readonly<Record<TokenType, string>>;
  /** Span attributes that become labels when the span has them: model, provider, agent. */
  labels: readonly string[];
}

const LOOM_LABELS = [AGENT_ATTRIBUTES.model.loom, AGENT_ATTRIBUTES.provider.loom, AGENT_ATTRIBUTES.agent.loom] as const;

/**
 * The spellings read, in precedence order: per token type, a span is counted under the first spelling
 * whose attribute holds a positive whole count, so a span carrying two spellings is not counted twice.
 */
export const TOKEN_SOURCES: readonly TokenSource[] = [
  {
    convention: 'OpenTelemetry GenAI conventions',
    count: { input: 'gen_ai.usage.input_tokens', output: 'gen_ai.usage.output_tokens' },
    labels: [AGENT_ATTRIBUTES.model.genAi, AGENT_ATTRIBUTES.provider.genAi, AGENT_ATTRIBUTES.agent.genAi],
  },
  { convention: 'Loom (llm.generate in the Loom SDK today)', count: { input: 'llm.usage.prompt_tokens', output: 'llm.usage.completion_tokens' }, labels: LOOM_LABELS },
  { convention: "Loom's documented span catalogue", count: { input: 'llm.prompt_tokens', output: 'llm.completion_tokens' }, labels: LOOM_LABELS },
];

/** Every label a query on TOKENS_SERIES may name. */
export const TOKEN_LABELS: readonly string[] = [
  TOKEN_TYPE_LABEL,
  ...new Set(TOKEN_SOURCES.flatMap((source) => source.labels.map(prometheusLabelName))),
  ...EXPORTER_LABELS,
];

/**
 * A count the way the connector's OTTL `Int()` reads an attribute: integers as they are, doubles
 * truncated, base-10 integer strings parsed, booleans as 1 or 0; anything else is no count.
 */
export function tokenCount(value: { type: string; value: unknown } | undefined): number | undefined {
  if (!value) return undefined;
  switch (value.type) {
    case 'int':
      return Number(value.value);
    case 'double':
      return Math.trunc(value.value as number);
    case 'string':
      return /^[+-]?\d+$/.test(value.value as string) ? Number(value.value) : undefined;
    case 'bool':
      return value.value ? 1 : 0;
    default:
      return undefined;
  }
}

export interface SpanTokens {
  type: TokenType;
  count: number;
  source: TokenSource;
}

/** The tokens a span adds to the counter: at most one entry per token type (see TOKEN_SOURCES). */
export function spanTokens(get: (key: string) => { type: string; value: unknown } | undefined): SpanTokens[] {
  const found: SpanTokens[] = [];
  for (const type of TOKEN_TYPES) {
    for (const source of TOKEN_SOURCES) {
      const count = tokenCount(get(source.count[type]));
      if (count !== undefined && count > 0) {
        found.push({ type, count, source });
        break;
      }
    }
  }
  return found;
}
