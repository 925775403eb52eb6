/**
 * A Python agent as Loom builds it (the OpenTelemetry Python SDK from PyPI, configured like Loom's
 * init_telemetry) against `up --local`: the same assertions as against the real stack
 * (real-stack.test.ts): every span in the Jaeger query API, every span counted in the span metrics.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { eventually, PYTHON, runPythonAgent } from './helpers/real-stack.js';
import { validatorsRequired } from './helpers/validators.js';
import { startLocal, type LocalRun } from './local-harness.js';

function pythonSdkAvailable(): boolean {
  if (existsSync(PYTHON)) return true;
  const missing = `the Python OpenTelemetry SDK venv ${PYTHON} is missing (run \`npm run e2e:images\`)`;
  if (validatorsRequired) throw new Error(`Required in CI: ${missing}.`);
  console.warn(`Python agent tests skipped: ${missing}.`);
  return false;
}

const available = pythonSdkAvailable();

interface JaegerTrace {
  data: Array<{ spans: Array<{ operationName: string }>; processes: Record<string, { serviceName: string }> }>;
}

describe.skipIf(!available)('a Python agent (OpenTelemetry Python SDK, like Loom\'s init_telemetry) against up --local', () => {
  let local: LocalRun | undefined;
  afterEach(async () => {
    await local?.stop();
    local = undefined;
  });

  it('its spans in the Jaeger query API and counted once each in the span metrics', async () => {
    local = await startLocal(['--quiet']);
    const sent = await runPythonAgent(local.url('otlpGrpc'), 'loom-py-agent', 3);
    expect(sent).toMatchObject({ flushed: true, spans: 18 });
    for (const traceId of sent.traceIds) {
      const response = await fetch(local.url('jaegerUi', `/api/traces/${traceId}`));
      expect(response.status).toBe(200);
      const stored = ((await response.json()) as JaegerTrace).data[0]!;
      expect(stored.spans.map((s) => s.operationName).sort()).toEqual(['cognitive.run', 'cognitive.tool_call', 'event.emit', 'event.request', 'llm.generate', 'tool.invoke']);
      expect(Object.values(stored.processes).map((p) => p.serviceName)).toEqual(['loom-py-agent']);
    }
    const text = await eventually(async () => {
      const body = await (await fetch(local!.url('collectorMetrics', '/metrics'))).text();
      return body.includes('service_name="loom-py-agent"') ? body : undefined;
    }, 30_000, 500);
    const calls = (text ?? '')
      .split('\n')
      .filter((line) => line.startsWith('traces_span_metrics_calls_total{') && line.includes('service_name="loom-py-agent"'))
      .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
    expect(calls).toBe(sent.spans);
    const llm = (text ?? '').split('\n').find((line) => line.startsWith('traces_span_metrics_calls_total{') && line.includes('span_name="llm.generate"'));
    expect(llm).toContain('llm_model="deepseek-chat"');
    expect(llm).toContain('deployment_environment="e2e"');
    // The same token counter as the real collector's, summing exactly the tokens recorded.
    const tokens = (type: string) =>
      (text ?? '')
        .split('\n')
        .filter((line) => line.startsWith('llm_tokens_total{') && line.includes('job="loom-py-agent"') && line.includes(`gen_ai_token_type="${type}"`))
        .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
    expect({ input: tokens('input'), output: tokens('output') }).toEqual({ input: sent.promptTokens, output: sent.completionTokens });
  }, 120_000);
});
