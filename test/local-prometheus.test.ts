/**
 * The span metrics of `up --local` as Prometheus sees them: `promtool check metrics` lints the exposition,
 * and a real Prometheus (Debian's) scrapes it with the prometheus.yml `loom-otel init` generates (its
 * collector target pointed at 127.0.0.1) until the spanmetrics series of the spans sent appear.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';
import { freePort } from './helpers/ports.js';
import { requireTool } from './helpers/validators.js';
import { startLocal, stopAllLocal, type LocalRun } from './local-harness.js';

const hasPromtool = requireTool('promtool', 'apt-get install prometheus');
const hasPrometheus = requireTool('prometheus', 'apt-get install prometheus');

/** Two Loom-shaped traces over OTLP/JSON: one ok, one with a failing tool call. */
async function sendSpans(local: LocalRun): Promise<void> {
  const now = BigInt(Date.now() - 5_000) * 1_000_000n;
  const span = (trace: string, id: string, name: string, ms: number, extra: Record<string, unknown> = {}) => ({
    traceId: trace,
    spanId: id,
    name,
    kind: 'SPAN_KIND_INTERNAL',
    startTimeUnixNano: String(now),
    endTimeUnixNano: String(now + BigInt(ms) * 1_000_000n),
    ...extra,
  });
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'prom-agent' } }] },
        scopeSpans: [
          {
            spans: [
              span('aa'.repeat(16), '01'.repeat(8), 'llm.generate', 1200, { attributes: [{ key: 'llm.model', value: { stringValue: 'gpt-4o' } }] }),
              span('aa'.repeat(16), '02'.repeat(8), 'tool.invoke', 40, {
                attributes: [{ key: 'tool.name', value: { stringValue: 'search' } }],
                status: { code: 'STATUS_CODE_ERROR', message: 'timeout' },
              }),
              span('bb'.repeat(16), '03'.repeat(8), 'llm.generate', 3, { attributes: [{ key: 'llm.model', value: { stringValue: 'gpt-4o' } }] }),
            ],
          },
        ],
      },
    ],
  };
  const response = await fetch(local.url('otlpHttp', '/v1/traces'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
}

let prometheus: ChildProcess | undefined;
let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = once(prometheus, 'exit');
    prometheus.kill('SIGTERM');
    await exited;
  }
  prometheus = undefined;
  await stopAllLocal();
  for (const cleanup of cleanups) await cleanup();
  cleanups = [];
});
afterAll(stopAllLocal);

describe('up --local span metrics', () => {
  it.runIf(hasPromtool)('promtool check metrics finds nothing but the unit the collector itself exposes', async () => {
    const local = await startLocal();
    await sendSpans(local);
    const exposition = await (await fetch(local.url('collectorMetrics', '/metrics'))).text();
    expect(exposition).toContain('traces_span_metrics_calls_total{');
    const lint = await execa('promtool', ['check', 'metrics'], { input: exposition, reject: false });
    // The only finding is the duration histogram's unit: the spanmetrics connector + prometheus exporter
    // name it ..._milliseconds, and dashboards and Jaeger's SPM query that name, so it is kept on purpose.
    const findings = `${lint.stdout}\n${lint.stderr}`.split('\n').filter((line) => line.trim() !== '');
    expect(findings).toEqual(['traces_span_metrics_duration_milliseconds use base unit "seconds" instead of "milliseconds"']);
  });

  it.runIf(hasPrometheus)('a real Prometheus scrapes them with the generated prometheus.yml', { timeout: 90_000 }, async () => {
    const { dir, cleanup } = await tempDir('loom-otel-prom-');
    cleanups.push(cleanup);
    const stackDir = path.join(dir, 'observability');
    const init = await runCli(['init', '--yes', '--dir', stackDir]);
    expect(init.exitCode).toBe(0);

    // The stack's manifest is in --dir; the port flags (0) still win over its ports.
    const local = await startLocal(['--dir', stackDir]);
    await sendSpans(local);

    // The generated config, with the collector's exporter target pointed at up --local and a 1 s
    // scrape interval so the test does not wait 15 s; other targets (collector self-metrics, Jaeger)
    // are not part of up --local and are left out.
    const config = parse(await readFile(path.join(stackDir, 'prometheus.yml'), 'utf8')) as {
      global: Record<string, string>;
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    };
    const exporterJob = config.scrape_configs.find((job) => job.static_configs.some((c) => c.targets.includes('otel-collector:8889')));
    expect(exporterJob).toBeDefined();
    exporterJob!.static_configs = [{ targets: [`127.0.0.1:${local.ports.collectorMetrics}`] }];
    config.scrape_configs = [exporterJob!];
    config.global = { ...config.global, scrape_interval: '1s', evaluation_interval: '1s' };
    const configFile = path.join(dir, 'prometheus.yml');
    await writeFile(configFile, JSON.stringify(config, null, 2));

    const port = await freePort();
    prometheus = spawn(
      'prometheus',
      [`--config.file=${configFile}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: 'ignore' },
    );
    const query = async (promql: string) => {
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`).catch(() => undefined);
      if (!response?.ok) return [];
      return ((await response.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result;
    };
    let calls: Awaited<ReturnType<typeof query>> = [];
    for (let attempt = 0; attempt < 120 && calls.length < 2; attempt++) {
      calls = await query('traces_span_metrics_calls_total{service_name="prom-agent"}');
      if (calls.length < 2) await new Promise((r) => setTimeout(r, 500));
    }
    const bySpan = Object.fromEntries(calls.map((c) => [c.metric.span_name, c]));
    expect(bySpan['llm.generate']?.metric).toMatchObject({
      job: 'prom-agent', // honor_labels keeps the exporter's job (the service), as with the real collector
      span_kind: 'SPAN_KIND_INTERNAL',
      status_code: 'STATUS_CODE_UNSET',
      llm_model: 'gpt-4o',
      deployment_environment: 'development',
      deployment_environment_name: 'development',
      otel_scope_name: 'spanmetricsconnector',
    });
    expect(bySpan['llm.generate']?.value[1]).toBe('2');
    expect(bySpan['tool.invoke']?.metric).toMatchObject({ status_code: 'STATUS_CODE_ERROR', tool_name: 'search' });

    const buckets = await query('traces_span_metrics_duration_milliseconds_bucket{service_name="prom-agent",span_name="llm.generate"}');
    const byLe = Object.fromEntries(buckets.map((b) => [b.metric.le, b.value[1]]));
    expect(byLe['5']).toBe('1'); // the 3 ms span
    expect(byLe['1000']).toBe('1');
    expect(byLe['2500']).toBe('2'); // and the 1.2 s one
    expect(byLe['+Inf']).toBe('2');
  });

  it('keeps at most 10000 label sets, evicting the least recently updated, and says how many it evicted', async () => {
    const local = await startLocal(['--quiet']);
    const now = String(BigInt(Date.now()) * 1_000_000n);
    // 10,003 distinct span names (the mistake of putting an id in the name), one trace each.
    const spans = Array.from({ length: 10_003 }, (_, i) => ({
      traceId: (i + 1).toString(16).padStart(32, '0'),
      spanId: '01'.repeat(8),
      name: `tool.invoke ${i}`,
      startTimeUnixNano: now,
      endTimeUnixNano: now,
    }));
    const body = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'id-in-name' } }] }, scopeSpans: [{ spans }] }] };
    const response = await fetch(local.url('otlpHttp', '/v1/traces'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect(response.status).toBe(200);
    const exposition = await (await fetch(local.url('collectorMetrics', '/metrics'))).text();
    expect(exposition.match(/^traces_span_metrics_calls_total\{/gm)).toHaveLength(10_000);
    // The three oldest went to make room for the three newest.
    expect(exposition).not.toContain('span_name="tool.invoke 2"');
    expect(exposition).toContain('span_name="tool.invoke 3"');
    expect(exposition).toContain('span_name="tool.invoke 10002"');

    const stopped = await local.stop();
    expect(stopped.exitCode).toBe(0);
    expect(stopped.events.at(-1)).toMatchObject({ event: 'stopped', spansReceived: 10_003, spansNotInMetrics: 0, seriesEvicted: 3 });
  });
});
