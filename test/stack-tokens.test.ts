/**
 * The LLM token counters: the generated collector's signal_to_metrics definitions follow the token
 * contract (src/stack/tokens.ts) for every spelling, and the contract's own reading of a span (which
 * `up --local` uses) matches what the collector's conditions select.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli, tempDir } from './helpers/cli.js';
import { spanTokens, tokenCount, TOKEN_SOURCES, TOKEN_TYPE_ATTRIBUTE, TOKEN_TYPES, TOKENS_METRIC } from '../src/stack/tokens.js';

interface Definition {
  name: string;
  conditions: string[];
  attributes: Array<{ key: string; default_value?: string; optional?: boolean }>;
  sum: { value: string; monotonic: boolean };
}
type Config = {
  processors: Record<string, { attributes?: Array<Record<string, string>> }>;
  connectors: Record<string, { error_mode: string; spans: Definition[] }>;
  service: { pipelines: Record<string, { receivers: string[]; processors?: string[]; exporters: string[] }> };
};

let work: { dir: string; cleanup: () => Promise<void> };
let config: Config;
beforeAll(async () => {
  work = await tempDir('loom-otel-tokens-');
  const run = await runCli(['init', '--yes', '--dir', path.join(work.dir, 'stack'), '--environment', 'staging']);
  expect(run.exitCode, run.stderr).toBe(0);
  config = parse(await readFile(path.join(work.dir, 'stack', 'otel-collector.yaml'), 'utf8')) as Config;
});
afterAll(() => work.cleanup());

describe('the generated collector counts LLM tokens', () => {
  it('signal_to_metrics sums every spelling into one counter, fed to the prometheus exporter through delta_to_cumulative', () => {
    const connector = config.connectors.signal_to_metrics!;
    expect(connector.error_mode).toBe('ignore');
    expect(connector.spans).toHaveLength(TOKEN_TYPES.length * TOKEN_SOURCES.length);
    for (const type of TOKEN_TYPES) {
      TOKEN_SOURCES.forEach((source, index) => {
        const definition = connector.spans.find((d) => d.sum.value === `Int(span.attributes["${source.count[type]}"])`);
        expect(definition, source.count[type]).toBeDefined();
        expect(definition!.name).toBe(TOKENS_METRIC);
        expect(definition!.sum.monotonic).toBe(true);
        expect(definition!.attributes[0]).toEqual({ key: TOKEN_TYPE_ATTRIBUTE, default_value: type });
        expect(definition!.attributes.slice(1)).toEqual(source.labels.map((key) => ({ key, optional: true })));
        // One condition: this spelling holds a positive count and no earlier spelling does.
        expect(definition!.conditions).toHaveLength(1);
        const condition = definition!.conditions[0]!;
        expect(condition.startsWith(`Int(span.attributes["${source.count[type]}"]) > 0`)).toBe(true);
        for (const earlier of TOKEN_SOURCES.slice(0, index)) expect(condition).toContain(`not (Int(span.attributes["${earlier.count[type]}"]) > 0)`);
        for (const later of TOKEN_SOURCES.slice(index + 1)) expect(condition).not.toContain(later.count[type]);
      });
    }
    expect(config.service.pipelines.traces!.exporters).toContain('signal_to_metrics');
    expect(config.service.pipelines['metrics/llm_tokens']).toEqual({ receivers: ['signal_to_metrics'], processors: ['delta_to_cumulative'], exporters: ['prometheus'] });
    expect(config.processors.delta_to_cumulative).toEqual({});
  });

  it('gives every resource both deployment.environment names, copying whichever the agent set (and a service_name copy)', () => {
    expect(config.processors.resource!.attributes!.slice(0, 4)).toEqual([
      { key: 'deployment.environment.name', from_attribute: 'deployment.environment', action: 'insert' },
      { key: 'deployment.environment', from_attribute: 'deployment.environment.name', action: 'insert' },
      { key: 'deployment.environment.name', value: '${env:DEPLOYMENT_ENV:-staging}', action: 'insert' },
      { key: 'deployment.environment', value: '${env:DEPLOYMENT_ENV:-staging}', action: 'insert' },
    ]);
  });
});

describe('the generated Jaeger config and docs', () => {
  it("name the token series and tell Jaeger's Monitor tab users to pick Internal or Client", async () => {
    const readme = await readFile(path.join(work.dir, 'stack', 'README.md'), 'utf8');
    expect(readme).toContain('`llm_tokens_total` counts the tokens recorded on spans, by `gen_ai_token_type`');
    expect(readme).toMatch(/Monitor tab .* span kind Server: Loom's spans are Internal\n\(the test trace's LLM calls Client\), so pick Internal or Client/);
    const jaeger = await readFile(path.join(work.dir, 'stack', 'jaeger.yaml'), 'utf8');
    expect(jaeger).toContain('so pick Internal or Client in the tab');
  });

  it('keeps Jaeger from tracing its own API calls into its own storage (on by default in Jaeger v2)', async () => {
    const jaeger = parse(await readFile(path.join(work.dir, 'stack', 'jaeger.yaml'), 'utf8')) as { extensions: { jaeger_query: Record<string, unknown> } };
    expect(jaeger.extensions.jaeger_query.enable_tracing).toBe(false);
  });
});

describe('reading token counts the way the connector does', () => {
  const span = (attributes: Record<string, { type: string; value: unknown }>) => spanTokens((key) => attributes[key]);

  it("reads OTTL Int(): integers, truncated doubles, base-10 strings, booleans; nothing else", () => {
    expect(tokenCount({ type: 'int', value: 512 })).toBe(512);
    expect(tokenCount({ type: 'int', value: '9007199254740993' })).toBe(9007199254740992);
    expect(tokenCount({ type: 'double', value: 12.9 })).toBe(12);
    expect(tokenCount({ type: 'string', value: '128' })).toBe(128);
    expect(tokenCount({ type: 'string', value: '12.5' })).toBeUndefined();
    expect(tokenCount({ type: 'string', value: 'many' })).toBeUndefined();
    expect(tokenCount({ type: 'bool', value: true })).toBe(1);
    expect(tokenCount({ type: 'array', value: [] })).toBeUndefined();
    expect(tokenCount(undefined)).toBeUndefined();
  });

  it('counts the seed, real Loom and GenAI spellings, each span once per token type', () => {
    const int = (value: number) => ({ type: 'int', value });
    expect(span({ 'llm.prompt_tokens': int(512), 'llm.completion_tokens': int(128), 'llm.total_tokens': int(640) }).map((t) => [t.type, t.count])).toEqual([
      ['input', 512],
      ['output', 128],
    ]);
    expect(span({ 'llm.usage.prompt_tokens': int(10), 'llm.usage.completion_tokens': int(3) }).map((t) => t.count)).toEqual([10, 3]);
    const genAi = span({ 'gen_ai.usage.input_tokens': int(7), 'gen_ai.usage.output_tokens': int(2), 'llm.prompt_tokens': int(999) });
    expect(genAi.map((t) => [t.type, t.count, t.source.labels[0]])).toEqual([
      ['input', 7, 'gen_ai.request.model'],
      ['output', 2, 'gen_ai.request.model'],
    ]);
    // A zero or unreadable count falls through to the next spelling; none at all counts nothing.
    expect(span({ 'gen_ai.usage.input_tokens': int(0), 'llm.usage.prompt_tokens': { type: 'string', value: '40' } }).map((t) => t.count)).toEqual([40]);
    expect(span({ 'llm.total_tokens': int(640) })).toEqual([]);
  });
});
