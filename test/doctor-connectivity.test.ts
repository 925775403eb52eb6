/**
 * `doctor` against real loopback servers that fail the ways real endpoints do: every diagnosis the user
 * can meet, with the step it names and the fix it prints.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli, tempDir } from './helpers/cli.js';
import {
  grpcServer,
  http1Server,
  http2Server,
  otlpHttpServer,
  refusingPort,
  resettingServer,
  selfSignedCertificate,
  silentServer,
  stopAll,
  tlsServer,
  type TlsFiles,
} from './doctor-servers.js';
import type { DoctorReport } from '../src/checks/doctor.js';


let emptyDir: { dir: string; cleanup: () => Promise<void> };
let cert: TlsFiles;

beforeAll(async () => {
  emptyDir = await tempDir();
  cert = selfSignedCertificate();
});
afterEach(stopAll);
afterAll(async () => {
  await emptyDir.cleanup();
  cert.cleanup();
});

/** Runs `loom-otel doctor --json` with a short timeout, no stack, judged as on the host. */
async function doctor(args: string[], env: Record<string, string> = {}) {
  const run = await runCli(['doctor', '--json', '--timeout', '1', '--dir', emptyDir.dir, '--no-in-container', ...args], { env: cleanEnv(env) });
  const report = JSON.parse(run.stdout) as DoctorReport;
  const connectivity = report.groups.find((g) => g.id === 'connectivity')?.checks ?? [];
  const failed = connectivity.find((c) => c.status === 'fail');
  return { run, report, connectivity, failed };
}

describe('doctor: network failures', () => {
  it('a refusing port fails at TCP connect and says to start the collector', async () => {
    const port = await refusingPort();
    const { run, report, failed } = await doctor(['--endpoint', `http://127.0.0.1:${port}`]);
    expect(run.exitCode).toBe(1);
    expect(report.probe?.failure?.kind).toBe('refused');
    expect(failed?.id).toBe('connectivity.tcp');
    expect(failed?.detail).toContain('connection refused');
    expect(failed?.fix).toContain('loom-otel up');
  });

  it('a listener that never answers fails at the protocol step after the timeout, for gRPC and OTLP/HTTP', async () => {
    const port = await silentServer();
    for (const protocol of ['grpc', 'http/protobuf']) {
      const { run, report, failed } = await doctor(['--endpoint', `http://127.0.0.1:${port}`, '--protocol', protocol]);
      expect(run.exitCode).toBe(1);
      expect(report.probe?.failure?.kind).toBe('no-answer');
      expect(failed?.id).toBe('connectivity.protocol');
      expect(failed?.detail).toContain('accepts connections but nothing answers');
    }
  });

  it('a listener that resets the connection is named as a reset', async () => {
    const port = await resettingServer();
    const { run, report, failed } = await doctor(['--endpoint', `http://127.0.0.1:${port}`]);
    expect(run.exitCode).toBe(1);
    expect(report.probe?.failure?.kind).toBe('reset');
    expect(failed?.detail).toContain('reset');
  });

  it('a host name that does not resolve fails at DNS', async () => {
    const { run, report, failed } = await doctor(['--endpoint', 'http://no-such-collector.invalid:4317']);
    expect(run.exitCode).toBe(1);
    expect(report.probe?.failure?.kind).toBe('dns');
    expect(failed?.id).toBe('connectivity.dns');
  });
});

describe('doctor: TLS', () => {
  it('https:// against a plaintext gRPC server: TLS expected but plaintext found', async () => {
    const port = await grpcServer({ code: 0 });
    const { run, report, failed } = await doctor(['--endpoint', `https://127.0.0.1:${port}`]);
    expect(run.exitCode).toBe(1);
    expect(report.probe?.failure?.kind).toBe('tls-to-plaintext');
    expect(failed?.id).toBe('connectivity.tls');
    expect(failed?.fix).toContain('http://');
  });

  it('http:// against a TLS server: plaintext used but the server speaks TLS (gRPC and OTLP/HTTP)', async () => {
    const grpcPort = await grpcServer({ code: 0, tls: cert });
    const grpc = await doctor(['--endpoint', `http://127.0.0.1:${grpcPort}`]);
    expect(grpc.run.exitCode).toBe(1);
    expect(grpc.report.probe?.failure?.kind).toBe('plaintext-to-tls');
    expect(grpc.failed?.fix).toContain('https://');

    const httpPort = await otlpHttpServer({ status: 200, tls: cert });
    const otlpHttp = await doctor(['--endpoint', `http://127.0.0.1:${httpPort}`, '--protocol', 'http/protobuf']);
    expect(otlpHttp.report.probe?.failure?.kind).toBe('plaintext-to-tls');

    const barePort = await tlsServer(cert);
    const bare = await doctor(['--endpoint', `http://127.0.0.1:${barePort}`]);
    expect(bare.report.probe?.failure?.kind).toBe('plaintext-to-tls');
  });

  it('a self-signed certificate is untrusted until OTEL_EXPORTER_OTLP_CERTIFICATE points at it', async () => {
    const port = await grpcServer({ code: 0, tls: cert });
    const untrusted = await doctor(['--endpoint', `https://127.0.0.1:${port}`]);
    expect(untrusted.run.exitCode).toBe(1);
    expect(untrusted.report.probe?.failure?.kind).toBe('certificate');
    expect(untrusted.failed?.id).toBe('connectivity.tls');
    expect(untrusted.failed?.fix).toContain('OTEL_EXPORTER_OTLP_CERTIFICATE');

    const trusted = await doctor(['--endpoint', `https://127.0.0.1:${port}`], { OTEL_EXPORTER_OTLP_CERTIFICATE: cert.certFile });
    expect(trusted.report.probe?.ok).toBe(true);
    expect(trusted.connectivity.map((c) => [c.id, c.status])).toEqual([
      ['connectivity.dns', 'pass'],
      ['connectivity.tcp', 'pass'],
      ['connectivity.tls', 'pass'],
      ['connectivity.export', 'pass'],
    ]);
    expect(trusted.run.exitCode).toBe(0);
  });

  it('OTLP/HTTP over TLS with the CA given succeeds and proves the route', async () => {
    const port = await otlpHttpServer({ status: 200, tls: cert });
    const { run, report } = await doctor(['--endpoint', `https://localhost:${port}`, '--protocol', 'http/protobuf'], { OTEL_EXPORTER_OTLP_CERTIFICATE: cert.certFile });
    expect(report.probe).toMatchObject({ ok: true, httpStatus: 200, routeStatus: 405 });
    expect(run.exitCode).toBe(0);
  });

  it('TLS on the wrong port: gRPC to an HTTPS-only server, OTLP/HTTP to a gRPC-only one (ALPN refused)', async () => {
    const env = { OTEL_EXPORTER_OTLP_CERTIFICATE: cert.certFile };
    const httpsPort = await otlpHttpServer({ status: 200, tls: cert });
    const grpcToHttps = await doctor(['--endpoint', `https://localhost:${httpsPort}`], env);
    expect(grpcToHttps.run.exitCode).toBe(1);
    expect(grpcToHttps.report.probe?.failure?.kind).toBe('http1-on-grpc-port');
    expect(grpcToHttps.failed?.id).toBe('connectivity.tls');
    expect(grpcToHttps.failed?.fix).toContain('http/protobuf');

    const grpcPort = await grpcServer({ code: 0, tls: cert });
    const httpToGrpc = await doctor(['--endpoint', `https://localhost:${grpcPort}`, '--protocol', 'http/protobuf'], env);
    expect(httpToGrpc.run.exitCode).toBe(1);
    expect(httpToGrpc.report.probe?.failure?.kind).toBe('grpc-on-http-port');
    expect(httpToGrpc.failed?.fix).toContain('OTEL_EXPORTER_OTLP_PROTOCOL=grpc');

    const noAlpnPort = await tlsServer(cert, []);
    const grpcWithoutH2 = await doctor(['--endpoint', `https://localhost:${noAlpnPort}`], env);
    expect(grpcWithoutH2.report.probe?.failure?.kind).toBe('http1-on-grpc-port');
    expect(grpcWithoutH2.failed?.detail).toContain('is an HTTP/1.1 server, not gRPC');
  });

  it('a CA file that does not exist is named, not a crash', async () => {
    const port = await grpcServer({ code: 0, tls: cert });
    const { run, report } = await doctor(['--endpoint', `https://127.0.0.1:${port}`], { OTEL_EXPORTER_OTLP_CERTIFICATE: '/nonexistent/ca.pem' });
    expect(run.exitCode).toBe(1);
    expect(report.probe?.failure?.cause).toContain('/nonexistent/ca.pem');
    const settings = report.groups.find((g) => g.id === 'settings')?.checks ?? [];
    expect(settings.find((c) => c.id === 'settings.file.OTEL_EXPORTER_OTLP_CERTIFICATE')?.status).toBe('fail');
  });
});

describe('doctor: the wrong protocol on a port', () => {
  it('an HTTP/1 server on the gRPC port', async () => {
    const port = await http1Server(200);
    const { run, report, failed } = await doctor(['--endpoint', `http://127.0.0.1:${port}`]);
    expect(run.exitCode).toBe(1);
    expect(report.probe?.failure?.kind).toBe('http1-on-grpc-port');
    expect(failed?.id).toBe('connectivity.protocol');
    expect(failed?.fix).toContain('http/protobuf');
  });

  it('gRPC (HTTP/2) on the OTLP/HTTP port', async () => {
    for (const port of [await grpcServer({ code: 0 }), await http2Server()]) {
      const { run, report, failed } = await doctor(['--endpoint', `http://127.0.0.1:${port}`, '--protocol', 'http/protobuf']);
      expect(run.exitCode).toBe(1);
      expect(report.probe?.failure?.kind).toBe('grpc-on-http-port');
      expect(failed?.fix).toContain('OTEL_EXPORTER_OTLP_PROTOCOL=grpc');
    }
  });

  it('an HTTP/2 server that is not gRPC on the gRPC port', async () => {
    const port = await http2Server();
    const { report } = await doctor(['--endpoint', `http://127.0.0.1:${port}`]);
    expect(report.probe?.failure?.kind).toBe('not-grpc');
  });
});

describe('doctor: gRPC status codes of the empty Export', () => {
  it('OK passes every step and exits 0', async () => {
    const port = await grpcServer({ code: 0 });
    const { run, report, connectivity } = await doctor(['--endpoint', `http://127.0.0.1:${port}`]);
    expect(report.probe).toMatchObject({ ok: true, grpcStatus: 0 });
    expect(connectivity.every((c) => c.status === 'pass')).toBe(true);
    expect(run.exitCode).toBe(0);
  });

  it.each([
    [16, 'UNAUTHENTICATED', 'OTEL_EXPORTER_OTLP_HEADERS'],
    [7, 'PERMISSION_DENIED', 'token'],
    [14, 'UNAVAILABLE', 'health'],
    [8, 'RESOURCE_EXHAUSTED', 'memory'],
    [3, 'INVALID_ARGUMENT', 'OTLP version'],
    [13, 'INTERNAL', 'logs'],
  ])('status %i (%s) fails the export step with its meaning and fix', async (code, name, fixWord) => {
    const port = await grpcServer({ code });
    const { run, report, failed } = await doctor(['--endpoint', `http://127.0.0.1:${port}`]);
    expect(run.exitCode).toBe(1);
    expect(report.probe?.grpcStatus).toBe(code);
    expect(failed?.id).toBe('connectivity.export');
    expect(failed?.detail).toContain(name);
    expect(failed?.fix).toContain(fixWord);
  });

  it('UNIMPLEMENTED: a gRPC server without the OTLP trace service', async () => {
    const port = await grpcServer({ code: 0, noTraceService: true });
    const { report, failed } = await doctor(['--endpoint', `http://127.0.0.1:${port}`]);
    expect(report.probe?.grpcStatus).toBe(12);
    expect(failed?.detail).toContain('no OTLP trace service');
  });

  it('UNAUTHENTICATED without the header, OK with it from --header or OTEL_EXPORTER_OTLP_HEADERS', async () => {
    const port = await grpcServer({ code: 0, requireAuthorization: 'Bearer abc' });
    const without = await doctor(['--endpoint', `http://127.0.0.1:${port}`]);
    expect(without.report.probe?.grpcStatus).toBe(16);
    const withFlag = await doctor(['--endpoint', `http://127.0.0.1:${port}`, '--header', 'authorization=Bearer%20abc']);
    expect(withFlag.report.probe?.ok).toBe(true);
    const withEnv = await doctor(['--endpoint', `http://127.0.0.1:${port}`], { OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc' });
    expect(withEnv.report.probe?.ok).toBe(true);
  });
});

describe('doctor: OTLP/HTTP statuses', () => {
  it('200 passes, and GET answering 405 proves the traces route', async () => {
    const port = await otlpHttpServer({ status: 200 });
    const { run, report, connectivity } = await doctor(['--endpoint', `http://127.0.0.1:${port}`, '--protocol', 'http/protobuf']);
    expect(report.probe).toMatchObject({ ok: true, httpStatus: 200, routeStatus: 405 });
    expect(connectivity.find((c) => c.id === 'connectivity.route')?.status).toBe('pass');
    expect(run.exitCode).toBe(0);
  });

  it('404 from a doubled traces path names the base-URL mistake', async () => {
    const port = await otlpHttpServer({ status: 200 });
    const { run, report, failed } = await doctor([], { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}/v1/traces`, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' });
    expect(run.exitCode).toBe(1);
    expect(report.probe?.httpStatus).toBe(404);
    expect(failed?.detail).toContain('/v1/traces/v1/traces');
    expect(failed?.fix).toContain('base URL');
    const settings = report.groups.find((g) => g.id === 'settings')?.checks ?? [];
    expect(settings.find((c) => c.id === 'settings.traces-path')).toMatchObject({ status: 'fail' });
  });

  it.each([
    [401, 'credentials are missing', 'OTEL_EXPORTER_OTLP_HEADERS'],
    [403, 'do not allow writing', 'token'],
    [503, 'unavailable', 'health'],
    [415, 'Unsupported Media Type', 'http/protobuf'],
    [429, 'throttling', 'retry'],
  ])('%i is diagnosed with its fix', async (status, causeText, fixWord) => {
    const port = await otlpHttpServer({ status });
    const { run, report, failed } = await doctor(['--endpoint', `http://127.0.0.1:${port}`, '--protocol', 'http/protobuf']);
    expect(run.exitCode).toBe(1);
    expect(report.probe?.httpStatus).toBe(status);
    expect(failed?.id).toBe('connectivity.export');
    expect(failed?.detail).toContain(causeText);
    expect(failed?.fix).toContain(fixWord);
  });
});

describe('doctor: secrets and output', () => {
  it('header values never appear in the output, text or JSON; their names do', async () => {
    const port = await grpcServer({ code: 0, requireAuthorization: 'Bearer s3cr3t-token' });
    const env = { OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=top%2Dsecret-value' };
    const args = ['doctor', '--timeout', '1', '--dir', emptyDir.dir, '--endpoint', `http://127.0.0.1:${port}`, '--header', 'authorization=Bearer%20s3cr3t-token'];
    for (const run of [await runCli(args, { env: cleanEnv(env) }), await runCli([...args, '--json'], { env: cleanEnv(env) })]) {
      const all = run.stdout + run.stderr;
      expect(all).not.toContain('s3cr3t');
      expect(all).not.toContain('top-secret');
      expect(all).not.toContain('top%2Dsecret');
      expect(all).toContain('authorization');
      expect(all).toContain('x-api-key');
    }
  });

  it('a header value sent is masked in every line, not only in what the peer says back', async () => {
    // The same value in the endpoint's query (a parameter name redactUrls does not treat as secret) and in a header.
    const port = await http1Server(404);
    const args = ['doctor', '--timeout', '1', '--dir', emptyDir.dir, '--protocol', 'http/protobuf', '--endpoint', `http://127.0.0.1:${port}/v1/traces?tenant=TENANT77SECRET`, '--header', 'x-scope-orgid=TENANT77SECRET'];
    for (const run of [await runCli(args, { env: cleanEnv() }), await runCli([...args, '--json'], { env: cleanEnv() })]) {
      const all = run.stdout + run.stderr;
      expect(all).not.toContain('TENANT77SECRET');
      expect(all).toContain(`http://127.0.0.1:${port}/v1/traces?tenant=***`);
    }
  });

  it('--header in curl syntax is refused (exit 2) without quoting the secret back', async () => {
    const run = await runCli(['doctor', '--dir', emptyDir.dir, '--header', 'Authorization: Bearer s3cr3t-token']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('--header');
    expect(run.stdout + run.stderr).not.toContain('s3cr3t');
  });

  it('prints a grouped list with a mark per check, the fix under a failure and a summary line', async () => {
    const port = await refusingPort();
    const run = await runCli(['doctor', '--timeout', '1', '--dir', emptyDir.dir, '--no-in-container', '--endpoint', `http://127.0.0.1:${port}`], { env: cleanEnv() });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/^OTLP connectivity to http:\/\/127\.0\.0\.1:\d+$/m);
    expect(run.stdout).toMatch(/^ {2}\[FAIL\] TCP connect: Nothing is listening/m);
    expect(run.stdout).toMatch(/^ {9}Fix: Start the collector/m);
    expect(run.stdout).toMatch(/^ {2}\[skip\] Empty gRPC Export: not reached: TCP connect failed$/m);
    expect(run.stdout).toMatch(/^Problems found: 1 failed, \d+ warnings?, \d+ passed, \d+ skipped/m);
  });

  it('bad flag values exit 2 before anything is probed', async () => {
    for (const args of [['--timeout', '0'], ['--protocol', 'udp'], ['--header', 'novalue'], ['--endpoint', 'http://[bad']]) {
      const run = await runCli(['doctor', ...args], { env: cleanEnv() });
      expect(run.exitCode, args.join(' ')).toBe(2);
      expect(run.stderr).toContain(args[0]!);
    }
  });
});
