/**
 * Every query of the generated Loom agents dashboard returns data: a real Prometheus (Debian's) scrapes
 * `up --local` with the generated prometheus.yml (target pointed at it, 1 s interval) while
 * `send-test-trace` sends Loom traces and an OTLP/JSON request sends a GenAI-conventions agent's spans,
 * then each panel query, with Grafana's variables filled in, is run through Prometheus' query API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';
import { freePort } from './helpers/ports.js';
import { requireTool } from './helpers/validators.js';
import { startLocal, stopAllLocal, type LocalRun } from './local-harness.js';

const hasPrometheus = requireTool('prometheus', 'apt-get install prometheus');

let prometheus: ChildProcess | undefined;
let cleanup: (() => Promise<void>) | undefined;
afterAll(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = once(prometheus, 'exit');
    prometheus.kill('SIGTERM');
    await exited;
  }
  await stopAllLocal();
  await cleanup?.();
});

/** A GenAI-conventions agent run: invoke_agent -> chat (with token usage) and execute_tool. */
async function sendGenAiRun(local: LocalRun, trace: string): Promise<void> {
  const now = BigInt(Date.now() - 2_000) * 1_000_000n;
  const span = (id: string, parent: string, name: string, kind: string, attributes: Record<string, string | number>) => ({
    traceId: trace,
    spanId: id,
    parentSpanId: parent,
    name,
    kind,
    startTimeUnixNano: String(now),
    endTimeUnixNano: String(now + 250_000_000n),
    attributes: Object.entries(attributes).map(([key, value]) => ({ key, value: typeof value === 'number' ? { intValue: value } : { stringValue: value } })),
  });
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'genai-agent' } }] },
        scopeSpans: [
          {
            spans: [
              span('01'.repeat(8), '', 'invoke_agent planner', 'SPAN_KIND_INTERNAL', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'planner' }),
              span('02'.repeat(8), '01'.repeat(8), 'chat gpt-4o', 'SPAN_KIND_CLIENT', {
                'gen_ai.operation.name': 'chat',
                'gen_ai.request.model': 'gpt-4o',
                'gen_ai.provider.name': 'openai',
                'gen_ai.agent.name': 'planner',
                'gen_ai.usage.input_tokens': 90,
                'gen_ai.usage.output_tokens': 15,
              }),
              span('03'.repeat(8), '01'.repeat(8), 'execute_tool web_search', 'SPAN_KIND_INTERNAL', { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'web_search' }),
            ],
          },
        ],
      },
    ],
  };
  const response = await fetch(local.url('otlpHttp', '/v1/traces'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
}

type Sample = { metric: Record<string, string>; value: [number, string] };

describe.runIf(hasPrometheus)('the Loom agents dashboard against up --local and a real Prometheus', () => {
  it('every panel query returns a series with a number, for Loom and GenAI agents alike', { timeout: 120_000 }, async () => {
    const work = await tempDir('loom-otel-dashboard-');
    cleanup = work.cleanup;
    const stackDir = path.join(work.dir, 'observability');
    expect((await runCli(['init', '--yes', '--dir', stackDir])).exitCode).toBe(0);
    const local = await startLocal(['--dir', stackDir, '--quiet']);

    const config = parse(await readFile(path.join(stackDir, 'prometheus.yml'), 'utf8')) as {
      global: Record<string, string>;
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    };
    const exporterJob = config.scrape_configs.find((job) => job.static_configs.some((c) => c.targets.includes('otel-collector:8889')))!;
    exporterJob.static_configs = [{ targets: [`127.0.0.1:${local.ports.collectorMetrics}`] }];
    config.scrape_configs = [exporterJob];
    config.global = { ...config.global, scrape_interval: '1s', evaluation_interval: '1s' };
    const configFile = path.join(work.dir, 'prometheus.yml');
    await writeFile(configFile, JSON.stringify(config, null, 2));
    const port = await freePort();
    prometheus = spawn('prometheus', [`--config.file=${configFile}`, `--storage.tsdb.path=${path.join(work.dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`], {
      stdio: 'ignore',
    });
    const query = async (promql: string): Promise<Sample[]> => {
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`).catch(() => undefined);
      if (!response?.ok) return [];
      return ((await response.json()) as { data: { result: Sample[] } }).data.result;
    };

    // Traffic twice, a few scrapes apart, so every counter grows inside the rate window.
    const send = async (round: number) => {
      const run = await runCli(['send-test-trace', '--endpoint', local.url('otlpGrpc'), '--count', '2', '--dir', stackDir]);
      expect(run.exitCode, run.stderr).toBe(0);
      await sendGenAiRun(local, `${String(round).padStart(2, '0')}`.repeat(16));
    };
    for (let attempt = 0; attempt < 60 && (await query('up')).length === 0; attempt++) await new Promise((r) => setTimeout(r, 500));
    await send(1);
    await new Promise((r) => setTimeout(r, 4_000));
    await send(2);
    for (let attempt = 0; attempt < 60 && (await query('llm_tokens_total')).length < 2; attempt++) await new Promise((r) => setTimeout(r, 500));
    await new Promise((r) => setTimeout(r, 3_000));

    const dashboard = JSON.parse(await readFile(path.join(stackDir, 'grafana/dashboards/loom-agents.json'), 'utf8')) as {
      panels: Array<{ title: string; type: string; targets?: Array<{ expr: string }> }>;
    };
    const results = new Map<string, Sample[]>();
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      for (const target of panel.targets ?? []) {
        const promql = target.expr.replaceAll('$__rate_interval', '1m').replaceAll('$service', '.*').replaceAll('$environment', '.*');
        const samples = await query(promql);
        const numbers = samples.filter((s) => Number.isFinite(Number(s.value[1])));
        expect(numbers.length, `"${panel.title}": ${promql}`).toBeGreaterThan(0);
        results.set(panel.title, [...(results.get(panel.title) ?? []), ...samples]);
      }
    }
    // The GenAI agent shows up beside the Loom one, under its own labels.
    expect(results.get('Agent runs per second')!.map((s) => s.metric.gen_ai_agent_name)).toContain('planner');
    expect(results.get('LLM calls per second')!.map((s) => s.metric.gen_ai_request_model)).toContain('gpt-4o');
    expect(results.get('LLM calls per second')!.map((s) => s.metric.llm_model)).toContain('deepseek-chat');
    expect(results.get('Tokens per second by model')!.map((s) => s.metric.gen_ai_request_model)).toContain('gpt-4o');
    expect(results.get('Tool calls per second')!.map((s) => s.metric.gen_ai_tool_name)).toContain('web_search');
    expect(results.get('Input vs output tokens per second')!.map((s) => s.metric.gen_ai_token_type).sort()).toEqual(['input', 'output']);
    expect(results.get('Tokens per agent run')!.map((s) => s.metric.job).sort()).toEqual(['genai-agent', 'loom-test-agent']);

    // The sums equal the tokens sent: 2 rounds x 105 for the GenAI agent.
    const genAi = await query('sum(llm_tokens_total{job="genai-agent"})');
    expect(Number(genAi[0]?.value[1])).toBe(210);
  });
});
