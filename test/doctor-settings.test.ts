/**
 * `doctor` lints the OTEL_* variables an agent started from the same environment would inherit.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli, tempDir } from './helpers/cli.js';
import { grpcServer, refusingPort, stopAll } from './doctor-servers.js';
import type { DoctorReport } from '../src/checks/doctor.js';


let emptyDir: { dir: string; cleanup: () => Promise<void> };
let closedPort: number;

beforeAll(async () => {
  emptyDir = await tempDir();
  closedPort = await refusingPort();
});
afterEach(stopAll);
afterAll(() => emptyDir.cleanup());

/** The settings group for this environment; the probe goes to a closed port so it ends at once. */
async function lint(env: Record<string, string>, args: string[] = ['--no-in-container']) {
  const run = await runCli(['doctor', '--json', '--timeout', '1', '--dir', emptyDir.dir, '--endpoint', `http://127.0.0.1:${closedPort}`, ...args], { env: cleanEnv(env) });
  const report = JSON.parse(run.stdout) as DoctorReport;
  const checks = report.groups.find((g) => g.id === 'settings')?.checks ?? [];
  return { run, checks, check: (id: string) => checks.find((c) => c.id === id) };
}

describe('doctor: OTEL_* lint', () => {
  it('port 4318 with protocol grpc, and 4317 with http/protobuf, are flagged', async () => {
    const grpcOnHttp = await lint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector.example:4318' });
    expect(grpcOnHttp.check('settings.port-protocol')).toMatchObject({ status: 'warn' });
    expect(grpcOnHttp.check('settings.port-protocol')?.detail).toContain('4318 is OTLP/HTTP');

    const httpOnGrpc = await lint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector.example:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' });
    expect(httpOnGrpc.check('settings.port-protocol')).toMatchObject({ status: 'warn' });
    expect(httpOnGrpc.check('settings.port-protocol')?.fix).toContain('4318');

    const fine = await lint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector.example:4317' });
    expect(fine.check('settings.port-protocol')?.status).toBe('pass');
  });

  it('a traces path on the generic endpoint doubles it; a traces endpoint without it, and a gRPC path, are flagged', async () => {
    const doubled = await lint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector.example:4318/v1/traces', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' });
    expect(doubled.check('settings.traces-path')).toMatchObject({ status: 'fail' });
    expect(doubled.check('settings.traces-path')?.detail).toContain('/v1/traces/v1/traces');
    expect(doubled.check('settings.traces-path')?.fix).toContain('OTEL_EXPORTER_OTLP_ENDPOINT=http://collector.example:4318');

    const noPath = await lint({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector.example:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' });
    expect(noPath.check('settings.traces-path')).toMatchObject({ status: 'warn' });

    const grpcPath = await lint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector.example:4317/v1/traces' });
    expect(grpcPath.check('settings.traces-path')).toMatchObject({ status: 'warn' });
  });

  it('localhost inside a container is flagged; on the host it is fine', async () => {
    const inside = await lint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4317' }, ['--in-container']);
    expect(inside.check('settings.container-localhost')).toMatchObject({ status: 'warn' });
    expect(inside.check('settings.container-localhost')?.fix).toContain('otel-collector');
    // Unset, Loom's default is localhost too.
    const defaulted = await lint({}, ['--in-container']);
    expect(defaulted.check('settings.container-localhost')?.status).toBe('warn');
    const host = await lint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4317' }, ['--no-in-container']);
    expect(host.check('settings.container-localhost')?.status).toBe('pass');
  });

  it('localhost inside a container that just answered the probe from here is not flagged', async () => {
    const port = await grpcServer({ code: 0 });
    const env = cleanEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://localhost:${port}` });
    const run = await runCli(['doctor', '--json', '--timeout', '2', '--dir', emptyDir.dir, '--in-container'], { env });
    const report = JSON.parse(run.stdout) as DoctorReport;
    expect(report.probe?.ok).toBe(true);
    const check = report.groups.find((g) => g.id === 'settings')?.checks.find((c) => c.id === 'settings.container-localhost');
    expect(check).toMatchObject({ status: 'pass' });
    expect(check?.detail).toContain(`localhost:${port} answered from inside this container`);
  });

  it('OTEL_SERVICE_NAME unset: Loom names the service loom-python / agent-<id>', async () => {
    const unset = await lint({});
    expect(unset.check('settings.service-name')).toMatchObject({ status: 'warn' });
    expect(unset.check('settings.service-name')?.detail).toContain('loom-python');
    expect(unset.check('settings.service-name')?.detail).toContain('agent-<id>');
    expect((await lint({ OTEL_SERVICE_NAME: 'researcher' })).check('settings.service-name')).toMatchObject({ status: 'pass' });
    expect((await lint({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=researcher' })).check('settings.service-name')).toMatchObject({ status: 'pass' });
  });

  it('malformed headers fail and malformed resource attributes warn, without printing values', async () => {
    const { run, check } = await lint({ OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20ok,garbage-without-equals', OTEL_RESOURCE_ATTRIBUTES: 'team=search,%ZZ=1' });
    expect(check('settings.value.OTEL_EXPORTER_OTLP_HEADERS')).toMatchObject({ status: 'fail' });
    expect(check('settings.value.OTEL_RESOURCE_ATTRIBUTES')).toMatchObject({ status: 'warn' });
    expect(run.stdout).not.toContain('Bearer');
  });

  it('a timeout given in seconds means milliseconds', async () => {
    const seconds = await lint({ OTEL_EXPORTER_OTLP_TIMEOUT: '10' });
    expect(seconds.check('settings.timeout')).toMatchObject({ status: 'fail' });
    expect(seconds.check('settings.timeout')?.detail).toContain('10 ms');
    expect(seconds.check('settings.timeout')?.fix).toContain('OTEL_EXPORTER_OTLP_TIMEOUT=10000');
    expect((await lint({ OTEL_EXPORTER_OTLP_TIMEOUT: '10000' })).check('settings.timeout')?.status).toBe('pass');
    expect((await lint({ OTEL_EXPORTER_OTLP_TIMEOUT: '10s' })).check('settings.value.OTEL_EXPORTER_OTLP_TIMEOUT')?.status).toBe('fail');
  });

  it('switches that stop every trace: SDK disabled, exporter none, sampler off or ratio 0', async () => {
    const off = await lint({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'none', OTEL_TRACES_SAMPLER: 'always_off' });
    expect(off.check('settings.sdk-disabled')?.status).toBe('fail');
    expect(off.check('settings.traces-exporter')?.status).toBe('fail');
    expect(off.check('settings.sampler')?.status).toBe('fail');
    expect((await lint({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' })).check('settings.sampler')?.status).toBe('fail');
    const quarter = await lint({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' });
    expect(quarter.check('settings.sampler')).toMatchObject({ status: 'info' });
    expect(quarter.check('settings.sampler')?.detail).toContain('25%');
    expect((await lint({ OTEL_TRACES_EXPORTER: 'console' })).check('settings.traces-exporter')?.status).toBe('warn');
    expect((await lint({ OTEL_PROPAGATORS: 'b3' })).check('settings.propagators')?.status).toBe('warn');
  });

  it('OTEL_EXPORTER_OTLP_INSECURE=true with an https:// endpoint is ignored, and says so', async () => {
    const { check } = await lint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.example:4317', OTEL_EXPORTER_OTLP_INSECURE: 'true' });
    expect(check('settings.insecure-ignored')?.status).toBe('warn');
  });

  it('warnings alone exit 0; one failed lint exits 1', async () => {
    const port = await grpcServer({ code: 0 });
    const args = ['doctor', '--json', '--timeout', '1', '--dir', emptyDir.dir, '--no-in-container', '--endpoint', `http://127.0.0.1:${port}`];
    const warned = await runCli(args, { env: cleanEnv({ OTEL_TRACES_EXPORTER: 'console' }) });
    expect(JSON.parse(warned.stdout).summary.warn).toBeGreaterThan(0);
    expect(warned.exitCode).toBe(0);
    const failed = await runCli(args, { env: cleanEnv({ OTEL_SDK_DISABLED: 'true' }) });
    expect(failed.exitCode).toBe(1);
  });
});
