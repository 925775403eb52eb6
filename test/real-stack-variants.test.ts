/**
 * Variants of the generated stack, run for real (see real-stack.test.ts for the engine and images):
 * --sampling 10 with --expose, --no-jaeger (after an `up` that a held host port stops), --no-prometheus.
 * Each variant is started once and serves all of its assertions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { createServer, type Server } from 'node:net';
import { IMAGES } from '../src/stack/model.js';
import { builtHere, eventually, getJson, promQuery, RealStack, realStackAvailable, runPythonAgent, startDockerApi, type DockerApi } from './helpers/real-stack.js';

const available = await realStackAvailable();

interface DoctorJson {
  groups: Array<{ id: string; checks: Array<{ id: string; status: string; detail?: string }> }>;
}

/** `doctor` until it passes (Prometheus needs a scrape before its targets are up); the last report. */
async function doctorPasses(stack: RealStack): Promise<{ exitCode: number; failed: string[] }> {
  let last = { exitCode: -1, failed: ['doctor never ran'] };
  await eventually(async () => {
    const run = await stack.doctor();
    const report = JSON.parse(run.stdout) as DoctorJson;
    const all = report.groups.flatMap((g) => g.checks);
    last = { exitCode: run.exitCode, failed: all.filter((c) => c.status === 'fail').map((c) => `${c.id}: ${c.detail}`) };
    // With Prometheus in the stack, until every scrape target is up (a target is "unknown" before its first scrape).
    const scraped = stack.flags.includes('--no-prometheus') || all.some((c) => c.id === 'running.prometheus-targets' && c.status === 'pass');
    return run.exitCode === 0 && scraped ? last : undefined;
  }, 90_000, 3000);
  return last;
}

describe.skipIf(!available)(`variants of the generated stack on Podman's Docker API (${builtHere(IMAGES.collector)}, ${builtHere(IMAGES.jaeger)}, ${builtHere(IMAGES.prometheus)})`, () => {
  let api: DockerApi;
  const stacks: RealStack[] = [];

  beforeAll(async () => {
    api = await startDockerApi();
  }, 60_000);

  afterAll(async () => {
    for (const stack of stacks) await stack.destroy();
    await api?.stop();
  }, 300_000);

  async function started(label: string, flags: string[]): Promise<RealStack> {
    const stack = await RealStack.init(api, label, flags);
    stacks.push(stack);
    const up = await stack.cli(['up', '--timeout', '240']);
    expect(up.exitCode, `${up.stdout}\n${up.stderr}`).toBe(0);
    return stack;
  }

  it('--sampling 10 --expose: up and doctor pass, ports on all interfaces, the test trace whole in Jaeger, and after 200 load traces the span-metrics call count equals the spans sent', async () => {
    const stack = await started('sampling', ['--sampling', '10', '--expose']);
    const ports = await execa('podman', ['ps', '--filter', `label=com.docker.compose.project=${stack.name}`, '--format', '{{.Ports}}']);
    expect(String(ports.stdout)).toContain(`0.0.0.0:${stack.ports.otlpGrpc}->4317/tcp`);
    expect(String(ports.stdout)).not.toContain('127.0.0.1:');
    expect(await doctorPasses(stack)).toEqual({ exitCode: 0, failed: [] });

    const load = await stack.cli(['send-test-trace', '--json', '--count', '200', '--service', 'loom-load-agent'], { timeoutMs: 300_000 });
    expect(load.exitCode, load.stdout + load.stderr).toBe(0);
    const summary = JSON.parse(load.stdout) as { tracesSent: number; spansSent: number; failedExports: number };
    expect(summary).toMatchObject({ tracesSent: 200, failedExports: 0 });
    // Sampling applies only to the pipeline to Jaeger: the metrics count every span. (The load comes first,
    // so no other trace's loom-core spans are in the count.)
    const query = 'sum(traces_span_metrics_calls_total{service_name=~"loom-load-agent|loom-core"})';
    const counted = await eventually(async () => {
      const value = (await promQuery(stack, query)).reduce((sum, s) => sum + Number(s.value[1]), 0);
      return value === summary.spansSent ? value : undefined;
    }, 120_000, 5000);
    const seen = (await promQuery(stack, query)).reduce((sum, s) => sum + Number(s.value[1]), 0);
    expect(counted ?? seen).toBe(summary.spansSent);
    // Traces without a sampling priority (an agent's own) are thinned for Jaeger, and still all counted.
    const agent = await runPythonAgent(`http://127.0.0.1:${stack.ports.otlpGrpc}`, 'loom-py-agent', 100);
    expect(agent).toMatchObject({ flushed: true, spans: 600 });
    const agentSpans = await eventually(async () => {
      const value = (await promQuery(stack, 'sum(traces_span_metrics_calls_total{service_name="loom-py-agent"})')).reduce((sum, s) => sum + Number(s.value[1]), 0);
      return value === agent.spans ? value : undefined;
    }, 120_000, 5000);
    expect(agentSpans).toBe(agent.spans);
    const kept = await getJson<{ data: unknown[] }>(`http://127.0.0.1:${stack.ports.jaegerUi}/api/traces?service=loom-py-agent&limit=1000&lookback=1h`);
    // 10% of 100: 0 or more than 40 kept has a probability below 1e-4.
    expect(kept.data.length).toBeGreaterThan(0);
    expect(kept.data.length).toBeLessThan(40);

    // The test trace is marked to be kept (sampling.priority): it reaches Jaeger whole despite sampling.
    const trace = await stack.cli(['send-test-trace', '--json', '--wait', '90'], { timeoutMs: 180_000 });
    expect(trace.exitCode, trace.stdout + trace.stderr).toBe(0);
    expect(JSON.parse(trace.stdout).jaeger).toMatchObject({ visible: true, spans: 15, expectedSpans: 15 });
  }, 900_000);

  it('--no-jaeger: a held host port stops up, naming the port and the flag; once free, up and doctor pass', async () => {
    const stack = await RealStack.init(api, 'nojaeger', ['--no-jaeger']);
    stacks.push(stack);
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(stack.ports.otlpHttp, '127.0.0.1', resolve));
    try {
      const blocked = await stack.cli(['up', '--timeout', '60']);
      expect(blocked.exitCode).not.toBe(0);
      expect(blocked.stderr).toContain(String(stack.ports.otlpHttp));
      expect(blocked.stderr).toContain('--otlp-http-port');
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
    const up = await stack.cli(['up', '--timeout', '240']);
    expect(up.exitCode, `${up.stdout}\n${up.stderr}`).toBe(0);
    expect(await doctorPasses(stack)).toEqual({ exitCode: 0, failed: [] });
  }, 600_000);

  it('--no-prometheus: up and doctor pass, the span metrics served on the collector\'s metrics port', async () => {
    const stack = await started('noprom', ['--no-prometheus']);
    expect(await doctorPasses(stack)).toEqual({ exitCode: 0, failed: [] });
    const trace = await stack.cli(['send-test-trace', '--json', '--wait', '90'], { timeoutMs: 180_000 });
    expect(trace.exitCode, trace.stdout + trace.stderr).toBe(0);
    const metrics = await eventually(async () => {
      const text = await (await fetch(`http://127.0.0.1:${stack.ports.collectorMetrics}/metrics`)).text();
      return text.includes('traces_span_metrics_calls_total{') && text.includes('service_name="loom-test-agent"') ? text : undefined;
    }, 60_000, 3000);
    expect(metrics).toBeDefined();
  }, 600_000);
});
