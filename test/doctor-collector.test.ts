/**
 * `doctor --collector-config FILE`: any collector config, including the seed's own example, linted
 * against the distribution manifests in data/collector/.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, cleanEnv, runCli, tempDir } from './helpers/cli.js';
import type { DoctorReport } from '../src/checks/doctor.js';


const SEED = path.join(ROOT, 'test/fixtures/collector/seed-otel-config.yaml');
let work: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  work = await tempDir();
});
afterAll(() => work.cleanup());

async function lintFile(file: string, extra: string[] = []) {
  const run = await runCli(['doctor', '--json', '--collector-config', file, ...extra], { env: cleanEnv() });
  const report = JSON.parse(run.stdout) as DoctorReport;
  const checks = report.groups.flatMap((g) => g.checks);
  return { run, checks, check: (id: string) => checks.find((c) => c.id === id) };
}

async function lintYaml(name: string, yaml: string, extra: string[] = []) {
  const file = path.join(work.dir, name);
  await writeFile(file, yaml);
  return lintFile(file, extra);
}

describe('doctor --collector-config: the seed example', () => {
  it('reports its real faults on the core image it names', async () => {
    const { run, check, checks } = await lintFile(SEED, ['--collector-image', 'otel/opentelemetry-collector:latest']);
    expect(run.exitCode).toBe(1);
    // The jaeger exporter is gone since v0.85: the collector would not start.
    expect(check('collector.removed.exporters.jaeger')).toMatchObject({ status: 'fail' });
    expect(check('collector.removed.exporters.jaeger')?.fix).toContain('otlp');
    // The prometheus exporter is defined, but no pipeline feeds it.
    expect(check('collector.unused.exporters.prometheus')).toMatchObject({ status: 'warn' });
    expect(check('collector.unused.exporters.prometheus')?.detail).toContain('nothing reaches Prometheus');
    // :latest is not a version.
    expect(check('collector.image-tag')).toMatchObject({ status: 'warn' });
    // The receiver binds 0.0.0.0, which is right in a container; only gRPC is enabled.
    expect(check('collector.bind.receivers/otlp (grpc)')).toMatchObject({ status: 'pass' });
    expect(check('collector.otlp-protocols.otlp')).toMatchObject({ status: 'info' });
    expect(check('collector.otlp-protocols.otlp')?.detail).toContain('gRPC (4317) only');
    // Everything else it names exists in the core distribution.
    expect(check('collector.components')?.detail).toContain('otelcol 0.158.0');
    expect(checks.filter((c) => c.status === 'fail')).toHaveLength(1);
  });

  it('prints the same as text, with a fix under the failure', async () => {
    const run = await runCli(['doctor', '--collector-config', SEED], { env: cleanEnv() });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/\[FAIL\] Exporter jaeger: the jaeger exporter was removed from the collector in v0\.85/);
    expect(run.stdout).toMatch(/^ {9}Fix: Jaeger takes OTLP/m);
    expect(run.stdout).toMatch(/^Problems found: 1 failed, 1 warning/m);
  });
});

describe('doctor --collector-config: faults in any config', () => {
  it('spanmetrics on the core image, with the contrib image as the fix; accepted on contrib, as a deprecated name', async () => {
    const yaml = `receivers:
  otlp:
    protocols:
      grpc: { endpoint: 0.0.0.0:4317 }
      http: { endpoint: 0.0.0.0:4318 }
connectors:
  spanmetrics: {}
exporters:
  prometheus: { endpoint: 0.0.0.0:8889 }
  debug: {}
extensions:
  health_check: { endpoint: 0.0.0.0:13133 }
service:
  extensions: [health_check]
  pipelines:
    traces: { receivers: [otlp], exporters: [spanmetrics, debug] }
    metrics: { receivers: [spanmetrics], exporters: [prometheus] }
`;
    const core = await lintYaml('spanmetrics.yaml', yaml, ['--collector-image', 'otel/opentelemetry-collector:0.158.0']);
    expect(core.check('collector.missing.connectors.spanmetrics')).toMatchObject({ status: 'fail' });
    expect(core.check('collector.missing.connectors.spanmetrics')?.fix).toContain('otel/opentelemetry-collector-contrib:0.158.0');
    const contrib = await lintYaml('spanmetrics.yaml', yaml, ['--collector-image', 'otel/opentelemetry-collector-contrib:0.158.0']);
    // The old name works (the collector starts) but warns at every start: a warning, with the new name.
    const deprecated = contrib.check('collector.deprecated.connectors.spanmetrics');
    expect(deprecated).toMatchObject({ status: 'warn' });
    expect(deprecated?.detail).toContain('deprecated alias of "span_metrics"');
    expect(deprecated?.fix).toContain('connectors.spanmetrics to span_metrics');
    expect(contrib.check('collector.components')).toMatchObject({ status: 'pass' });
    expect(contrib.checks.filter((c) => c.status === 'fail' || (c.status === 'warn' && c !== deprecated))).toEqual([]);
    expect(contrib.run.exitCode).toBe(0);
    // With today's names it is clean.
    const renamed = yaml.replaceAll('spanmetrics', 'span_metrics');
    const current = await lintYaml('span_metrics.yaml', renamed, ['--collector-image', 'otel/opentelemetry-collector-contrib:0.158.0']);
    expect(current.checks.filter((c) => c.status === 'fail' || c.status === 'warn')).toEqual([]);
  });

  it('every deprecated alias is accepted with a warning naming its current name (otlp/jaeger keeps its suffix)', async () => {
    const { check, run } = await lintYaml(
      'aliases.yaml',
      `receivers:
  otlp: { protocols: { grpc: { endpoint: 0.0.0.0:4317 } } }
processors:
  deltatocumulative: {}
connectors:
  signaltometrics: { spans: [{ name: n, sum: { value: "1" } }] }
exporters:
  otlp/jaeger: { endpoint: jaeger:4317, tls: { insecure: true } }
  otlphttp: { endpoint: http://example.com:4318 }
  prometheus: { endpoint: 0.0.0.0:8889 }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [otlp/jaeger, otlphttp, signaltometrics] }
    metrics: { receivers: [signaltometrics], processors: [deltatocumulative], exporters: [prometheus] }
`,
      ['--collector-image', 'otel/opentelemetry-collector-contrib:0.158.0'],
    );
    expect(run.exitCode).toBe(0);
    expect(check('collector.deprecated.exporters.otlp/jaeger')?.fix).toContain('exporters.otlp/jaeger to otlp_grpc/jaeger');
    expect(check('collector.deprecated.exporters.otlphttp')?.detail).toContain('"otlp_http"');
    expect(check('collector.deprecated.connectors.signaltometrics')?.detail).toContain('"signal_to_metrics"');
    expect(check('collector.deprecated.processors.deltatocumulative')?.detail).toContain('"delta_to_cumulative"');
    // The otlp receiver is not renamed.
    expect(check('collector.deprecated.receivers.otlp')).toBeUndefined();
  });

  it('a typo in a pipeline: undefined component (with "did you mean"), and the defined one unused', async () => {
    const { run, check } = await lintYaml(
      'typo.yaml',
      `receivers:
  otlp: { protocols: { grpc: { endpoint: 0.0.0.0:4317 } } }
exporters:
  otlp_grpc/jaeger: { endpoint: jaeger:4317, tls: { insecure: true } }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [otlp_grpc/jeager] }
`,
    );
    expect(run.exitCode).toBe(1);
    expect(check('collector.undefined.traces.otlp_grpc/jeager')).toMatchObject({ status: 'fail' });
    expect(check('collector.undefined.traces.otlp_grpc/jeager')?.fix).toContain('Did you mean "otlp_grpc/jaeger"');
    expect(check('collector.unused.exporters.otlp_grpc/jaeger')).toMatchObject({ status: 'warn' });
  });

  it('receivers on localhost (explicitly or by the v0.104 default) are unreachable from other containers', async () => {
    const { check } = await lintYaml(
      'localhost.yaml',
      `receivers:
  otlp:
    protocols:
      grpc:
      http: { endpoint: localhost:4318 }
extensions:
  health_check: {}
exporters:
  debug: {}
service:
  extensions: [health_check]
  pipelines:
    traces: { receivers: [otlp], exporters: [debug] }
`,
    );
    expect(check('collector.bind.receivers/otlp (grpc)')).toMatchObject({ status: 'fail' });
    expect(check('collector.bind.receivers/otlp (grpc)')?.detail).toContain('v0.104');
    expect(check('collector.bind.receivers/otlp (grpc)')?.fix).toContain('0.0.0.0:4317');
    expect(check('collector.bind.receivers/otlp (http)')).toMatchObject({ status: 'fail' });
    expect(check('collector.bind.extensions/health_check')?.fix).toContain('0.0.0.0:13133');
  });

  it('the removed logging exporter, a one-sided connector, an undefined extension, memory_limiter not first, an exporter using TLS by default on the compose network', async () => {
    const { check } = await lintYaml(
      'many.yaml',
      `receivers:
  otlp: { protocols: { grpc: { endpoint: 0.0.0.0:4317 } } }
processors:
  batch: {}
  memory_limiter: { check_interval: 1s, limit_percentage: 80, spike_limit_percentage: 25 }
connectors:
  spanmetrics: {}
exporters:
  logging: {}
  otlp/jaeger: { endpoint: jaeger:4317 }
service:
  extensions: [health_check]
  pipelines:
    traces: { receivers: [otlp], processors: [batch, memory_limiter], exporters: [otlp/jaeger, spanmetrics, logging] }
`,
    );
    expect(check('collector.removed.exporters.logging')?.fix).toContain('debug');
    expect(check('collector.connector.spanmetrics')).toMatchObject({ status: 'fail' });
    expect(check('collector.undefined.extension.health_check')).toMatchObject({ status: 'fail' });
    expect(check('collector.order.traces')).toMatchObject({ status: 'warn' });
    expect(check('collector.exporter-tls.otlp/jaeger')).toMatchObject({ status: 'warn' });
    expect(check('collector.exporter-tls.otlp/jaeger')?.fix).toContain('insecure: true');
  });

  it('no pipelines, a pipeline without exporters, an unknown component', async () => {
    const empty = await lintYaml('empty.yaml', 'receivers:\n  otlp: { protocols: { grpc: {} } }\n');
    expect(empty.check('collector.pipelines')).toMatchObject({ status: 'fail' });
    const noExporter = await lintYaml(
      'noexp.yaml',
      'receivers:\n  otlp: { protocols: { grpc: { endpoint: 0.0.0.0:4317 } } }\nexporters:\n  kafkaa: {}\nservice:\n  pipelines:\n    traces: { receivers: [otlp] }\n',
    );
    expect(noExporter.check('collector.pipeline.traces')).toMatchObject({ status: 'fail' });
    expect(noExporter.check('collector.missing.exporters.kafkaa')).toMatchObject({ status: 'fail' });
  });

  it('a file that is missing or not YAML fails with the reason; exit 1', async () => {
    const missing = await lintFile(path.join(work.dir, 'nope.yaml'));
    expect(missing.run.exitCode).toBe(1);
    expect(missing.check('collector.file')?.detail).toContain('does not exist');
    const broken = await lintYaml('broken.yaml', 'receivers:\n  otlp: [unclosed\n');
    expect(broken.check('collector.file')?.detail).toContain('not valid YAML');
  });
});
