/**
 * The generated stack, run for real: `init --no-grafana` then `up`, `status`, `doctor`, `send-test-trace`,
 * a Python agent, the dashboard's queries, Jaeger's Monitor API, faults and `down`, against the collector,
 * Jaeger and Prometheus built here from their real Go modules, on Podman serving the Docker API to the
 * Docker CLI and its Compose v2 plugin. The CLI runs exactly as a Docker user runs it (DOCKER_HOST only).
 *
 * One stack serves every test of this file, in order; host ports are free ports (never the defaults),
 * so this also covers "non-default host ports".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { IMAGES } from '../src/stack/model.js';
import { runCli, tempDir, type CliRun } from './helpers/cli.js';
import {
  builtHere,
  eventually,
  getJson,
  promQuery,
  RealStack,
  realStackAvailable,
  runPythonAgent,
  startDockerApi,
  warnOrErrorLines,
  type DockerApi,
} from './helpers/real-stack.js';

const available = await realStackAvailable();
const IMAGE_NAMES = `${builtHere(IMAGES.collector)}, ${builtHere(IMAGES.jaeger)}, ${builtHere(IMAGES.prometheus)}`;

interface DoctorJson {
  groups: Array<{ id: string; checks: Array<{ id: string; title: string; status: string; detail?: string; fix?: string }> }>;
}
interface JaegerTrace {
  data: Array<{ spans: Array<{ operationName: string; processID: string }>; processes: Record<string, { serviceName: string }> }>;
}

function checks(report: DoctorJson) {
  return report.groups.flatMap((group) => group.checks.map((check) => ({ group: group.id, ...check })));
}

/** Sum of an instant query's values (0 when it has no series). */
async function sumOf(stack: RealStack, query: string): Promise<number> {
  return (await promQuery(stack, query)).reduce((total, series) => total + Number(series.value[1]), 0);
}

describe.skipIf(!available)(`the generated stack on Podman's Docker API (${IMAGE_NAMES})`, () => {
  let api: DockerApi;
  let stack: RealStack;
  let logsAtFirstTrace = '';

  beforeAll(async () => {
    api = await startDockerApi();
    stack = await RealStack.init(api, 'main', []);
  }, 120_000);

  afterAll(async () => {
    await stack?.destroy();
    await api?.stop();
  }, 180_000);

  it('up: exit 0 with every part healthy, through `docker compose` (Compose v2 plugin) on Podman', async () => {
    const up = await stack.cli(['up', '--json', '--timeout', '240']);
    expect(up.exitCode, `${up.stdout}\n${up.stderr}`).toBe(0);
    const result = JSON.parse(up.stdout) as { ok: boolean; engine: { name: string }; parts: Array<{ part: string; healthy: boolean }> };
    expect(result.engine.name).toBe('docker');
    expect(result.parts.map((p) => [p.part, p.healthy])).toEqual([
      ['collector', true],
      ['jaeger', true],
      ['prometheus', true],
    ]);
  }, 400_000);

  it('no WARN or ERROR line in the collector\'s and Jaeger\'s logs from start to the first trace', async () => {
    // Read before any trace is sent: these are the start-up logs.
    logsAtFirstTrace = `${await stack.logs('otel-collector')}\n${await stack.logs('jaeger')}`;
    expect(logsAtFirstTrace).toMatch(/Everything is ready|Starting/);
    expect(warnOrErrorLines(logsAtFirstTrace)).toEqual([]);
  });

  it('status: exit 0, every part running and healthy', async () => {
    const status = await stack.cli(['status', '--json']);
    expect(status.exitCode, status.stdout + status.stderr).toBe(0);
    const parts = (JSON.parse(status.stdout) as { parts: Array<{ part: string; running: boolean; healthy: boolean }> }).parts;
    expect(parts.map((p) => [p.part, p.running, p.healthy])).toEqual([
      ['collector', true, true],
      ['jaeger', true, true],
      ['prometheus', true, true],
    ]);
  }, 120_000);

  it('doctor: exit 0, every stack check ok, every Prometheus scrape target up', async () => {
    // Prometheus scrapes every 15 s: a target is "unknown" until its first scrape.
    let last: CliRun | undefined;
    const report = await eventually(async () => {
      last = await stack.doctor();
      const parsed = JSON.parse(last.stdout) as DoctorJson;
      return last.exitCode === 0 && checks(parsed).some((c) => c.id === 'running.prometheus-targets' && c.status === 'pass') ? parsed : undefined;
    }, 90_000, 3000);
    expect(report, `doctor did not pass within 90 s: ${last?.stdout}`).toBeDefined();
    const all = checks(report!);
    expect(all.filter((c) => c.status === 'fail')).toEqual([]);
    expect(all.filter((c) => c.group === 'stack' || c.group === 'connectivity').filter((c) => c.status === 'warn')).toEqual([]);
    const targets = all.find((c) => c.id === 'running.prometheus-targets');
    expect(targets?.status).toBe('pass');
    for (const job of ['otel-collector-exporter', 'otel-collector', 'jaeger']) expect(targets?.detail).toContain(job);
  }, 120_000);

  it('send-test-trace: exit 0, Jaeger 15/15 spans from 2 services, the Prometheus hop seen through span_metrics', async () => {
    const run = await stack.cli(['send-test-trace', '--json', '--wait', '90'], { timeoutMs: 180_000 });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as {
      ok: boolean;
      services: string[];
      jaeger: { visible: boolean; spans: number; expectedSpans: number; services: string[] };
      prometheus: { visible?: boolean; checked?: boolean };
    };
    expect(result.ok).toBe(true);
    expect(result.jaeger).toMatchObject({ visible: true, spans: 15, expectedSpans: 15 });
    expect(result.jaeger.services).toHaveLength(2);
    expect(result.prometheus).toMatchObject({ visible: true });
    expect(await sumOf(stack, 'sum(traces_span_metrics_calls_total{service_name="loom-test-agent"})')).toBeGreaterThan(0);
  }, 200_000);

  it('send-test-trace --error: the tool call\'s error reaches the error series', async () => {
    const run = await stack.cli(['send-test-trace', '--error', '--json', '--wait', '90'], { timeoutMs: 180_000 });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const errors = await eventually(async () => {
      const value = await sumOf(stack, 'sum(traces_span_metrics_calls_total{service_name="loom-test-agent", status_code="STATUS_CODE_ERROR"})');
      return value > 0 ? value : undefined;
    }, 60_000, 2000);
    expect(errors).toBeGreaterThan(0);
  }, 200_000);

  it('a Python agent (OpenTelemetry Python SDK, configured like Loom\'s init_telemetry): its spans in Jaeger and Prometheus', async () => {
    const sent = await runPythonAgent(`http://127.0.0.1:${stack.ports.otlpGrpc}`, 'loom-py-agent', 3);
    expect(sent.flushed).toBe(true);
    expect(sent.spans).toBe(18);
    for (const traceId of sent.traceIds) {
      const stored = await eventually(async () => {
        const body = await getJson<JaegerTrace>(`http://127.0.0.1:${stack.ports.jaegerUi}/api/traces/${traceId}`);
        return body.data[0]?.spans.length === 6 ? body.data[0] : undefined;
      }, 60_000);
      expect(stored?.spans.map((s) => s.operationName).sort()).toEqual(['cognitive.run', 'cognitive.tool_call', 'event.emit', 'event.request', 'llm.generate', 'tool.invoke']);
      expect(Object.values(stored!.processes).map((p) => p.serviceName)).toEqual(['loom-py-agent']);
    }
    // Every span is counted once by the span_metrics connector, with the Loom dimensions as labels.
    const counted = await eventually(async () => {
      const value = await sumOf(stack, 'sum(traces_span_metrics_calls_total{service_name="loom-py-agent"})');
      return value === sent.spans ? value : undefined;
    }, 90_000, 3000);
    expect(counted).toBe(sent.spans);
    const llm = await promQuery(stack, 'traces_span_metrics_calls_total{service_name="loom-py-agent", span_name="llm.generate"}');
    expect(llm[0]?.metric).toMatchObject({ llm_model: 'deepseek-chat', llm_provider: 'deepseek', agent_id: 'researcher', span_kind: 'SPAN_KIND_INTERNAL' });
    expect(llm[0]?.metric.deployment_environment).toBe('e2e');
    // The token counter sums exactly the tokens the agent recorded, by token type.
    const tokens = await eventually(async () => {
      const series = await promQuery(stack, 'sum by (gen_ai_token_type) (llm_tokens_total{job="loom-py-agent"})');
      const byType = Object.fromEntries(series.map((s) => [s.metric.gen_ai_token_type, Number(s.value[1])]));
      return byType.input === sent.promptTokens && byType.output === sent.completionTokens ? byType : undefined;
    }, 60_000, 3000);
    expect(tokens).toEqual({ input: sent.promptTokens, output: sent.completionTokens });
  }, 300_000);

  it('every query of the Loom agents dashboard returns data from the real Prometheus', async () => {
    // The dashboard is the one `init` writes with Grafana in (this stack leaves Grafana out).
    const withGrafana = await tempDir('loom-otel-e2e-dashboard-');
    try {
      const init = await runCli(['init', '--yes', '--dir', withGrafana.dir]);
      expect(init.exitCode, init.stderr).toBe(0);
      interface Panel {
        title: string;
        targets?: Array<{ expr?: string }>;
        panels?: Panel[];
      }
      const dashboard = JSON.parse(await readFile(path.join(withGrafana.dir, 'grafana/dashboards/loom-agents.json'), 'utf8')) as { panels: Panel[] };
      // Rows hold their panels when collapsed.
      const all = (panels: Panel[]): Panel[] => panels.flatMap((panel) => [panel, ...all(panel.panels ?? [])]);
      const queries = all(dashboard.panels).flatMap((panel) => (panel.targets ?? []).filter((t) => t.expr).map((t) => ({ panel: panel.title, expr: t.expr! })));
      expect(queries.length).toBeGreaterThan(5);
      expect(queries.map((q) => q.panel)).toContain('Tokens per second by model');
      // As Grafana sends them with "All" selected and a 15 s scrape interval ($__rate_interval = 4 x 15 s).
      const expand = (expr: string) => expr.replaceAll('$__rate_interval', '1m').replaceAll('$service', '.*').replaceAll('$environment', '.*').replace(/\$\{?\w+\}?/g, '.*');
      const empty = await eventually(async () => {
        const missing: string[] = [];
        for (const query of queries) if ((await promQuery(stack, expand(query.expr))).length === 0) missing.push(`${query.panel}: ${query.expr}`);
        return missing.length === 0 ? missing : undefined;
      }, 90_000, 5000);
      expect(empty, 'panels that would show "No data"').toEqual([]);
    } finally {
      await withGrafana.cleanup();
    }
  }, 200_000);

  it('Jaeger\'s Monitor (SPM) API returns call rates and latencies for loom-test-agent with the span kinds Loom emits', async () => {
    const base = `http://127.0.0.1:${stack.ports.jaegerUi}/api/metrics`;
    const params = (kind: string) => `service=loom-test-agent&spanKind=${kind}&lookback=900000&step=15000&ratePer=60000&endTs=${Date.now()}`;
    for (const kind of ['internal', 'client']) {
      const calls = await eventually(async () => {
        const body = await getJson<{ metrics: Array<{ labels: Array<{ name: string; value: string }>; metricPoints: unknown[] }> }>(`${base}/calls?${params(kind)}`);
        return body.metrics.some((m) => m.metricPoints.length > 0) ? body.metrics : undefined;
      }, 60_000, 3000);
      expect(calls?.length, `calls for span kind ${kind}`).toBeGreaterThan(0);
      const latencies = await getJson<{ metrics: Array<{ metricPoints: unknown[] }> }>(`${base}/latencies?${params(kind)}&quantile=0.95`);
      expect(latencies.metrics.some((m) => m.metricPoints.length > 0), `latencies for span kind ${kind}`).toBe(true);
    }
  }, 200_000);

  it('with Jaeger stopped: doctor names Jaeger, and send-test-trace exits 3 naming Jaeger', async () => {
    expect((await stack.compose(['stop', 'jaeger'])).exitCode).toBe(0);
    try {
      const doctor = await stack.doctor();
      expect(doctor.exitCode).toBe(1);
      const failed = checks(JSON.parse(doctor.stdout) as DoctorJson).filter((c) => c.status === 'fail');
      // Jaeger's own check, and (once Prometheus has tried to scrape it) its scrape target: each names Jaeger.
      expect(failed.map((c) => c.id)).toContain('running.jaeger');
      for (const check of failed) expect(`${check.title}: ${check.detail}`).toMatch(/jaeger/i);
      const jaeger = failed.find((c) => c.id === 'running.jaeger');
      expect(jaeger?.detail).toContain(`127.0.0.1:${stack.ports.jaegerUi}`);
      expect(jaeger?.fix).toContain('docker compose logs jaeger');
      const send = await stack.cli(['send-test-trace', '--wait', '10'], { timeoutMs: 120_000 });
      expect(send.exitCode, send.stdout + send.stderr).toBe(3);
      expect(send.stdout + send.stderr).toMatch(/Jaeger/);
    } finally {
      expect((await stack.compose(['start', 'jaeger'])).exitCode).toBe(0);
    }
  }, 200_000);

  it('with the collector stopped: doctor reports the refused OTLP/gRPC port', async () => {
    expect((await stack.compose(['stop', 'otel-collector'])).exitCode).toBe(0);
    const doctor = await stack.doctor();
    expect(doctor.exitCode).toBe(1);
    const tcp = checks(JSON.parse(doctor.stdout) as DoctorJson).find((c) => c.id === 'connectivity.tcp');
    expect(tcp).toMatchObject({ status: 'fail', detail: `Nothing is listening on 127.0.0.1:${stack.ports.otlpGrpc} (connection refused).` });
  }, 120_000);

  it('down removes the containers and keeps the volume; down --volumes --yes removes the volume too', async () => {
    const byProject = async (kind: 'ps' | 'volume') => {
      const args = kind === 'ps' ? ['ps', '-a', '--format', '{{.Names}}'] : ['volume', 'ls', '--format', '{{.Name}}'];
      const result = await execa('podman', [...args, '--filter', `label=com.docker.compose.project=${stack.name}`]);
      return String(result.stdout).split('\n').filter(Boolean);
    };
    expect(await byProject('ps')).toHaveLength(3);
    const down = await stack.cli(['down']);
    expect(down.exitCode, down.stderr).toBe(0);
    expect(await byProject('ps')).toEqual([]);
    expect(await byProject('volume')).toEqual([`${stack.name}_prometheus-data`]);
    const purge = await stack.cli(['down', '--volumes', '--yes']);
    expect(purge.exitCode, purge.stderr).toBe(0);
    expect(await byProject('volume')).toEqual([]);
  }, 200_000);
});
