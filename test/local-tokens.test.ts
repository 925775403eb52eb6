/**
 * The LLM token counters of `up --local`: spans recorded by the real OTel JS SDK and sent by the official
 * gRPC and http/protobuf exporters, in every spelling the token contract reads (the seed's llm.*_tokens,
 * real Loom's llm.usage.*, the GenAI conventions' gen_ai.usage.*), come back as llm_tokens_total sums
 * equal to the tokens sent, and `promtool check metrics` accepts the exposition.
 */
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { SpanKind, type Attributes } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { requireTool } from './helpers/validators.js';
import { startLocal, stopAllLocal } from './local-harness.js';

const hasPromtool = requireTool('promtool', 'apt-get install prometheus');
afterAll(stopAllLocal);

/** Spans recorded by the real SDK for one service: [name, kind, attributes]. */
async function record(resource: Attributes, spans: Array<[string, SpanKind, Attributes]>): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes(resource), spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('loom.tokens.test');
  for (const [name, kind, attributes] of spans) tracer.startSpan(name, { kind, attributes }).end();
  const finished = memory.getFinishedSpans();
  await provider.shutdown();
  return finished;
}

function exportSpans(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

/** `llm_tokens_total{...} value` lines as label maps with their value. */
function tokenSeries(exposition: string): Array<{ labels: Record<string, string>; value: number }> {
  return exposition
    .split('\n')
    .filter((line) => line.startsWith('llm_tokens_total{'))
    .map((line) => {
      const [, body, value] = /^llm_tokens_total\{(.*)\} (\S+)$/.exec(line) ?? [];
      const labels = Object.fromEntries([...(body ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
      return { labels: labels as Record<string, string>, value: Number(value) };
    });
}

describe('up --local LLM token counters', () => {
  it('sums the tokens of every spelling, sent by the official exporters, into llm_tokens_total', { timeout: 60_000 }, async () => {
    const local = await startLocal();
    const loomSpans = await record({ 'service.name': 'loom-agent', 'service.instance.id': 'pod-1' }, [
      // The seed's catalogue.
      ['llm.generate', SpanKind.CLIENT, { 'llm.model': 'deepseek-chat', 'llm.provider': 'deepseek', 'llm.prompt_tokens': 512, 'llm.completion_tokens': 128, 'llm.total_tokens': 640 }],
      ['llm.generate', SpanKind.CLIENT, { 'llm.model': 'deepseek-chat', 'llm.provider': 'deepseek', 'llm.prompt_tokens': 100, 'llm.completion_tokens': 20 }],
      // Real Loom: llm.usage.*, the provider as a base URL, every span INTERNAL.
      ['llm.generate', SpanKind.INTERNAL, { 'llm.model': 'deepseek-chat', 'llm.provider': 'https://api.deepseek.com/v1', 'llm.usage.prompt_tokens': 300, 'llm.usage.completion_tokens': 45 }],
      // Not an LLM span: no tokens, no series.
      ['tool.invoke', SpanKind.INTERNAL, { 'tool.name': 'web:search', 'agent.id': 'researcher' }],
    ]);
    const genAiSpans = await record({ 'service.name': 'genai-agent' }, [
      ['chat gpt-4o', SpanKind.CLIENT, { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.agent.name': 'planner', 'gen_ai.usage.input_tokens': 70, 'gen_ai.usage.output_tokens': 30 }],
      // Both spellings on one span: counted once, under the GenAI one.
      ['chat gpt-4o', SpanKind.CLIENT, { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.agent.name': 'planner', 'gen_ai.usage.input_tokens': 5, 'gen_ai.usage.output_tokens': 1, 'llm.prompt_tokens': 999 }],
      // A count sent as a string is read like OTTL's Int(); one that is no number is not counted.
      ['chat gpt-4o', SpanKind.CLIENT, { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': '12', 'gen_ai.usage.output_tokens': 'lots' }],
    ]);
    expect((await exportSpans(new GrpcExporter({ url: local.url('otlpGrpc') }), loomSpans)).code).toBe(0);
    expect((await exportSpans(new ProtoExporter({ url: local.url('otlpHttp', '/v1/traces') }), genAiSpans)).code).toBe(0);

    const exposition = await (await fetch(local.url('collectorMetrics', '/metrics'))).text();
    expect(exposition).toContain('# TYPE llm_tokens_total counter');
    const series = tokenSeries(exposition);
    const value = (labels: Record<string, string>) =>
      series.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length).map((s) => s.value);
    const scope = { otel_scope_name: 'github.com/open-telemetry/opentelemetry-collector-contrib/connector/signaltometricsconnector', otel_scope_version: '', otel_scope_schema_url: '' };
    const loom = { ...scope, job: 'loom-agent', instance: 'pod-1', llm_model: 'deepseek-chat' };
    expect(value({ ...loom, llm_provider: 'deepseek', gen_ai_token_type: 'input' })).toEqual([612]);
    expect(value({ ...loom, llm_provider: 'deepseek', gen_ai_token_type: 'output' })).toEqual([148]);
    expect(value({ ...loom, llm_provider: 'https://api.deepseek.com/v1', gen_ai_token_type: 'input' })).toEqual([300]);
    expect(value({ ...loom, llm_provider: 'https://api.deepseek.com/v1', gen_ai_token_type: 'output' })).toEqual([45]);
    const genAi = { ...scope, job: 'genai-agent', gen_ai_request_model: 'gpt-4o' };
    expect(value({ ...genAi, gen_ai_provider_name: 'openai', gen_ai_agent_name: 'planner', gen_ai_token_type: 'input' })).toEqual([75]);
    expect(value({ ...genAi, gen_ai_provider_name: 'openai', gen_ai_agent_name: 'planner', gen_ai_token_type: 'output' })).toEqual([31]);
    expect(value({ ...genAi, gen_ai_token_type: 'input' })).toEqual([12]);
    // Nothing else: the tool span, the unreadable count and the shadowed llm.prompt_tokens add no series.
    expect(series).toHaveLength(7);
    const total = series.reduce((sum, s) => sum + s.value, 0);
    expect(total).toBe(512 + 128 + 100 + 20 + 300 + 45 + 70 + 30 + 5 + 1 + 12);

    if (!hasPromtool) return;
    const lint = await execa('promtool', ['check', 'metrics'], { input: exposition, reject: false });
    const findings = `${lint.stdout}\n${lint.stderr}`.split('\n').filter((line) => line.trim() !== '');
    // As in local-prometheus.test.ts: only the span-metrics histogram's unit, kept on purpose.
    expect(findings).toEqual(['traces_span_metrics_duration_milliseconds use base unit "seconds" instead of "milliseconds"']);
  });
});
